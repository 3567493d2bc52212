/// Settings of a ``NATSClient``.
///
/// Read from configuration by ServiceKit under the `nats` scope; every key is listed in
/// `docs/operations.md`.
public struct NATSConfiguration: Sendable {
    /// TLS settings; with a `tls` value the client requires TLS.
    public struct TLS: Sendable, Hashable {
        /// PEM file with the CA certificates to trust (default: the system's).
        public var caFile: String?
        /// PEM client certificate and key, for servers that verify clients.
        public var certificateFile: String?
        public var keyFile: String?
        /// Host name expected in the server certificate, when it differs from the URL's.
        public var expectedHostname: String?

        public init(
            caFile: String? = nil,
            certificateFile: String? = nil,
            keyFile: String? = nil,
            expectedHostname: String? = nil
        ) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.expectedHostname = expectedHostname
        }
    }

    /// Server URLs (`nats://host:port`, `tls://host:port`); the client picks one and fails over.
    public var servers: [String]
    /// The connection name shown in the server's monitoring.
    public var name: String?
    public var user: String?
    public var password: String?
    public var token: String?
    /// A `.creds` file (JWT + NKey seed) for decentralised auth.
    public var credentialsFile: String?
    public var tls: TLS?
    /// Time allowed for one connection attempt.
    public var connectTimeout: Duration
    /// Wait between reconnect attempts to the same server (jitter is added).
    public var reconnectWait: Duration
    /// Reconnect attempts per server before giving up; `-1` means forever.
    public var maxReconnectAttempts: Int
    /// Bytes buffered for publishing while reconnecting.
    public var reconnectBufferSize: Int
    /// Backoff for the *initial* connection: it starts at `initialConnectBackoff` and doubles to `maxConnectBackoff`.
    public var initialConnectBackoff: Duration
    public var maxConnectBackoff: Duration
    /// Messages buffered per subscription between the C library and the Swift consumer.
    /// When full, newer messages are dropped and counted (core NATS is at-most-once; use JetStream
    /// for what must not be lost).
    public var subscriptionBufferSize: Int
    /// Time given to in-flight work when the client drains on shutdown.
    public var drainTimeout: Duration
    /// The prefix of this client's reply subjects (default `_INBOX`). A client whose replies carry
    /// secrets uses its own, which the server's permissions keep others from subscribing to.
    public var inboxPrefix: String?

    public init(
        servers: [String] = ["nats://127.0.0.1:4222"],
        name: String? = nil,
        user: String? = nil,
        password: String? = nil,
        token: String? = nil,
        credentialsFile: String? = nil,
        tls: TLS? = nil,
        connectTimeout: Duration = .seconds(2),
        reconnectWait: Duration = .milliseconds(250),
        maxReconnectAttempts: Int = -1,
        reconnectBufferSize: Int = 8 * 1024 * 1024,
        initialConnectBackoff: Duration = .milliseconds(100),
        maxConnectBackoff: Duration = .seconds(5),
        subscriptionBufferSize: Int = 65_536,
        drainTimeout: Duration = .seconds(10),
        inboxPrefix: String? = nil
    ) {
        self.servers = servers
        self.name = name
        self.user = user
        self.password = password
        self.token = token
        self.credentialsFile = credentialsFile
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.reconnectWait = reconnectWait
        self.maxReconnectAttempts = maxReconnectAttempts
        self.reconnectBufferSize = reconnectBufferSize
        self.initialConnectBackoff = initialConnectBackoff
        self.maxConnectBackoff = maxConnectBackoff
        self.subscriptionBufferSize = subscriptionBufferSize
        self.drainTimeout = drainTimeout
        self.inboxPrefix = inboxPrefix
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
