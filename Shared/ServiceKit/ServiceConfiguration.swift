public import Configuration
import Foundation
public import GatehouseNATS
public import GatehouseWire
public import Logging
import NIOSSL
public import PostgresNIO

/// Settings every service shares. Keys are read relative to the reader (the caller does not scope),
/// so `http.port` is `HTTP_PORT` in the environment. `docs/operations.md` lists every key.
///
/// ## Configuration keys
/// - `instance` (string, default: host name + pid): this process's id in events and pings.
/// - `version` (string, default: `GATEHOUSE_VERSION` baked at build, else `dev`).
/// - `log.level` (string, default: `info`), `log.format` (`auto` | `text` | `json`, default: `auto`).
/// - `http.host` (default `127.0.0.1`), `http.port` (default: the service's port),
///   `http.tls.certificateFile`, `http.tls.keyFile` (PEM; both set ⇒ the admin port speaks HTTPS).
/// - `nats.servers` (comma-separated URLs, default `nats://127.0.0.1:4222`), `nats.user`,
///   `nats.password` (secret), `nats.token` (secret), `nats.credentialsFile`, `nats.tls.caFile`,
///   `nats.tls.certificateFile`, `nats.tls.keyFile`, `nats.tls.enabled` (bool), `nats.connectTimeoutMs`
///   (default 2000), `nats.reconnectWaitMs` (default 250), `nats.subscriptionBufferSize` (default 65536),
///   `nats.inboxPrefix` (default `_INBOX_<service>`).
/// - `postgres.host` (default `127.0.0.1`), `postgres.port` (default 5432), `postgres.user`
///   (default `gatehouse`), `postgres.password` (secret), `postgres.database` (default `gatehouse`),
///   `postgres.tls` (`disable` | `prefer` | `require`, default `disable`), `postgres.maxConnections` (default 10).
/// - `events.stream` (default `GATEHOUSE_EVENTS`), `events.duplicateWindowSeconds` (default 120).
/// - `rpc.maxConcurrentRequests` (default 256), `rpc.defaultTimeoutMs` (default 2000).
/// - `shutdown.gracePeriodSeconds` (default 25).
public struct ServiceConfiguration: Sendable {
    public var service: ServiceName
    public var instance: String
    public var version: String
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var http: HTTPConfiguration
    public var nats: NATSConfiguration
    public var postgres: PostgresClient.Configuration
    /// `postgres.tls`, for clients other than postgres-nio's (the audit verifier's bulk reader).
    public var postgresTLS: PostgresTLSMode = .disable
    public var eventStream: String
    public var duplicateWindow: Duration
    public var maxConcurrentRequests: Int
    public var defaultRequestTimeout: Duration
    public var gracePeriod: Duration

    public enum LogFormat: String, Sendable { case auto, text, json }

    public struct HTTPConfiguration: Sendable {
        public var host: String
        public var port: Int
        public var tlsCertificateFile: String?
        public var tlsKeyFile: String?
    }

    /// The admin port of each service (identity 8081 … audit 8086).
    public static func defaultPort(of service: ServiceName) -> Int {
        switch service {
        case .identity: 8081
        case .access: 8082
        case .signaling: 8083
        case .mediaRelay: 8084
        case .inference: 8085
        case .audit: 8086
        default: 8080
        }
    }

    public init(service: ServiceName, config: ConfigReader) throws {
        self.service = service
        let defaultInstance = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        self.instance = config.string(forKey: "instance", default: defaultInstance)
        guard Subjects.isValidToken(self.instance) else {
            throw GatehouseError.invalidConfiguration("instance must not contain '.', '*', '>' or spaces")
        }
        self.version = config.string(forKey: "version", default: GatehouseBuild.version)
        let level = config.string(forKey: "log.level", default: "info")
        guard let logLevel = Logger.Level(rawValue: level) else {
            throw GatehouseError.invalidConfiguration("log.level must be one of trace, debug, info, notice, warning, error, critical")
        }
        self.logLevel = logLevel
        let format = config.string(forKey: "log.format", default: "auto")
        guard let logFormat = LogFormat(rawValue: format) else {
            throw GatehouseError.invalidConfiguration("log.format must be auto, text or json")
        }
        self.logFormat = logFormat

        self.http = HTTPConfiguration(
            host: config.string(forKey: "http.host", default: "127.0.0.1"),
            port: config.int(forKey: "http.port", default: Self.defaultPort(of: service)),
            tlsCertificateFile: config.string(forKey: "http.tls.certificateFile"),
            tlsKeyFile: config.string(forKey: "http.tls.keyFile")
        )
        guard (0...65535).contains(self.http.port) else { throw GatehouseError.invalidConfiguration("http.port out of range") }
        if (self.http.tlsCertificateFile == nil) != (self.http.tlsKeyFile == nil) {
            throw GatehouseError.invalidConfiguration("http.tls.certificateFile and http.tls.keyFile go together")
        }

        let servers = config.string(forKey: "nats.servers", default: "nats://127.0.0.1:4222")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !servers.isEmpty else { throw GatehouseError.invalidConfiguration("nats.servers is empty") }
        var tls: NATSConfiguration.TLS?
        let caFile = config.string(forKey: "nats.tls.caFile")
        let certificateFile = config.string(forKey: "nats.tls.certificateFile")
        let keyFile = config.string(forKey: "nats.tls.keyFile")
        if config.bool(forKey: "nats.tls.enabled", default: false) || caFile != nil || certificateFile != nil
            || servers.contains(where: { $0.hasPrefix("tls://") })
        {
            tls = .init(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        }
        self.nats = NATSConfiguration(
            servers: servers,
            name: "\(service)/\(self.instance)",
            user: config.string(forKey: "nats.user"),
            password: config.string(forKey: "nats.password", isSecret: true),
            token: config.string(forKey: "nats.token", isSecret: true),
            credentialsFile: config.string(forKey: "nats.credentialsFile"),
            tls: tls,
            connectTimeout: .milliseconds(config.int(forKey: "nats.connectTimeoutMs", default: 2000)),
            reconnectWait: .milliseconds(config.int(forKey: "nats.reconnectWaitMs", default: 250)),
            subscriptionBufferSize: config.int(forKey: "nats.subscriptionBufferSize", default: 65_536),
            // Replies to each service come to its own inboxes: NATS permissions keep other clients
            // from reading, e.g., the SIP digest replies signaling gets (docs/security.md).
            inboxPrefix: config.string(forKey: "nats.inboxPrefix", default: "_INBOX_\(service)")
        )
        guard Subjects.isValidToken(self.nats.inboxPrefix ?? "") else {
            throw GatehouseError.invalidConfiguration("nats.inboxPrefix must be one subject token (no '.', '*', '>' or spaces)")
        }
        guard self.nats.subscriptionBufferSize > 0 else {
            throw GatehouseError.invalidConfiguration("nats.subscriptionBufferSize must be positive")
        }

        guard let tlsMode = PostgresTLSMode(rawValue: config.string(forKey: "postgres.tls", default: "disable")) else {
            throw GatehouseError.invalidConfiguration("postgres.tls must be disable, prefer or require")
        }
        self.postgresTLS = tlsMode
        let postgresTLS: PostgresClient.Configuration.TLS
        switch tlsMode {
        case .disable: postgresTLS = .disable
        case .prefer: postgresTLS = .prefer(.makeClientConfiguration())
        case .require: postgresTLS = .require(.makeClientConfiguration())
        }
        var postgres = PostgresClient.Configuration(
            host: config.string(forKey: "postgres.host", default: "127.0.0.1"),
            port: config.int(forKey: "postgres.port", default: 5432),
            username: config.string(forKey: "postgres.user", default: "gatehouse"),
            password: config.string(forKey: "postgres.password", isSecret: true),
            database: config.string(forKey: "postgres.database", default: "gatehouse"),
            tls: postgresTLS
        )
        postgres.options.maximumConnections = config.int(forKey: "postgres.maxConnections", default: 10)
        postgres.options.minimumConnections = 0
        postgres.options.connectTimeout = .seconds(5)
        guard postgres.options.maximumConnections > 0 else {
            throw GatehouseError.invalidConfiguration("postgres.maxConnections must be positive")
        }
        self.postgres = postgres

        self.eventStream = config.string(forKey: "events.stream", default: "GATEHOUSE_EVENTS")
        self.duplicateWindow = .seconds(config.int(forKey: "events.duplicateWindowSeconds", default: 120))
        self.maxConcurrentRequests = config.int(forKey: "rpc.maxConcurrentRequests", default: 256)
        guard self.maxConcurrentRequests > 0 else {
            throw GatehouseError.invalidConfiguration("rpc.maxConcurrentRequests must be positive")
        }
        self.defaultRequestTimeout = .milliseconds(config.int(forKey: "rpc.defaultTimeoutMs", default: 2000))
        self.gracePeriod = .seconds(config.int(forKey: "shutdown.gracePeriodSeconds", default: 25))
    }
}

/// How services reach PostgreSQL: `require` verifies the server's certificate against the system's
/// trust roots and its name.
public enum PostgresTLSMode: String, Sendable, Hashable {
    case disable, prefer, require
}

/// Facts about the build.
public enum GatehouseBuild {
    /// `GATEHOUSE_VERSION` from the environment at start (the Docker image sets it), else `dev`.
    public static let version: String = ProcessInfo.processInfo.environment["GATEHOUSE_VERSION"] ?? "dev"
}
