public import Configuration
import Foundation
public import GatehouseAuth
import ServiceKit

/// Signaling's own settings (docs/operations.md, "signaling"), read under `sip.`.
public struct SignalingConfiguration: Sendable {
    /// The address SIP listeners bind to.
    public var host: String
    /// UDP and TCP port (0 disables the listener; tests use 0 with ``udpPort``/``tcpPort`` = nil
    /// to pick free ports).
    public var udpPort: Int?
    public var tcpPort: Int?
    /// TLS port; TLS is on when a certificate and key are configured.
    public var tlsPort: Int?
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// SIP over WebSocket (RFC 7118) for browser clients: plain on ``wsPort`` (default 8088),
    /// over TLS on ``wssPort`` (default 8089, on when a certificate and key are configured).
    public var wsPort: Int?
    public var wssPort: Int?
    /// The host (and port) this instance writes into Via and Record-Route; defaults to the bind
    /// address.
    public var advertisedHost: String
    public var limits: Limits
    public var registrar: RegistrarPolicy
    public var security: SecurityPolicy
    /// `sip.doorOpenKeys` (default `#`): the keys that, pressed by the resident during a door
    /// station's call (SIP INFO `application/dtmf-relay` or `application/dtmf`), ask access control
    /// to open that door. Comma-separated single keys from `0-9*#A-D`.
    public var doorOpenKeys: Set<String> = ["#"]
    /// `sip.routing.planCacheSeconds` (default 5): how long identity's ring plan for a dialled
    /// number is kept. Any identity announcement ends it sooner; changes identity does not
    /// announce (residents moving in, fallbacks) reach calls within this time. Zero asks every call.
    public var planCacheLifetime = Duration.seconds(5)
    /// `sip.trunk.*`: the carrier trunk that external numbers of ring plans are called through
    /// (decision 0020); nil when none is configured, and then external steps are skipped.
    public var trunk: Trunk?

    /// An outbound SIP trunk: where INVITEs to external numbers go and how to answer its challenges.
    public struct Trunk: Sendable {
        /// `sip.trunk.host` and `sip.trunk.port` (default 5060, 5061 over TLS): the carrier's SIP
        /// proxy, a host name (resolved by A/AAAA lookup) or an address.
        public var host: String
        public var port: Int
        /// `sip.trunk.transport`: `UDP` (default), `TCP` or `TLS`; over TCP and TLS signaling opens
        /// one connection to the trunk and keeps it while it stays open.
        public var transport: SIPTransportKind = .udp
        /// `sip.trunk.tls.caFile`: PEM certificates the trunk's TLS certificate must chain to (the
        /// system's roots when unset); the name checked is ``host``.
        public var caFile: String?
        /// `sip.trunk.username` and `sip.trunk.password` (secret): answered to the carrier's 401/407
        /// digest challenge; without them a challenge ends that branch.
        public var username: String?
        public var password: String?
        /// `sip.trunk.callerId`: the E.164 number sent as `P-Asserted-Identity` (RFC 3325), the
        /// number the called phone shows; the caller's From is never changed.
        public var callerId: String?
        /// `sip.trunk.maxCalls` (default 20): external numbers ringing at once; beyond it an external
        /// target is skipped as unreachable (a bound on what a fault or a flood can cost in calls).
        public var maxCalls = 20

        public init(host: String, port: Int = 5060, username: String? = nil, password: String? = nil, callerId: String? = nil) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.callerId = callerId
        }
    }

    /// Sizes and counts: anything above is refused with the status named.
    public struct Limits: Sendable {
        /// Largest message (513 above).
        public var messageBytes = 65_535
        /// Header fields per message (400 above).
        public var headerFields = 256
        /// Requests being worked on at once; above it new ones get 503 with Retry-After.
        public var inFlight = 2_048
        /// Open TCP/TLS connections from one address; more are closed at once.
        public var connectionsPerAddress = 64
        /// Open TCP/TLS connections in all.
        public var connections = 20_000
        /// Server transactions remembered for retransmissions.
        public var transactions = 200_000
    }

    /// REGISTER rules (RFC 3261 §10.3).
    public struct RegistrarPolicy: Sendable {
        /// Shortest accepted registration (423 Interval Too Brief with Min-Expires below it).
        public var minExpires = 60
        /// Longest granted registration; longer requests are shortened to it.
        public var maxExpires = 3_600
        /// Granted when the request names none.
        public var defaultExpires = 3_600
        /// Contacts per device; a REGISTER that would exceed it gets 403.
        public var maxContacts = 10
        /// How long a challenge's nonce is good for; older ones get `stale=true`.
        public var nonceLifetime = Duration.seconds(300)
        /// The digest challenges offered, most preferred first (decision 0011). MD5 alone by default:
        /// sipp 3.6 answers only the first challenge and Debian's baresip 1.0 gives up when any
        /// challenge names an algorithm it does not know; a deployment whose devices speak RFC 8760
        /// sets `SHA-256,MD5` or `SHA-256`.
        public var algorithms: [SIPDigest.Algorithm] = [.md5]
        /// How long identity's answer for a SIP account (or for an unknown name) is kept; identity's
        /// device announcements end it sooner. Zero asks identity for every request.
        public var accountCacheLifetime = Duration.seconds(30)
    }

    /// Brute-force and flood protection per source address.
    public struct SecurityPolicy: Sendable {
        /// Failed authentications from one address within ``failureWindow`` that get it banned.
        public var failuresBeforeBan = 5
        public var failureWindow = Duration.seconds(300)
        /// How long a banned address is ignored (its messages are dropped unanswered).
        public var banDuration = Duration.seconds(900)
        /// Requests per second one address may send (bucket refills at this rate)…
        public var requestsPerSecond = 200.0
        /// …and how many it may send in a burst.
        public var burst = 400.0
        /// Addresses that are never banned or rate limited (a trusted SBC, load tests), as exact IPs.
        public var trustedAddresses: Set<String> = []
    }

    public init(host: String = "127.0.0.1", udpPort: Int? = 5060, tcpPort: Int? = 5060) {
        self.host = host
        self.udpPort = udpPort
        self.tcpPort = tcpPort
        self.tlsPort = nil
        self.wsPort = nil
        self.wssPort = nil
        self.advertisedHost = host
        self.limits = Limits()
        self.registrar = RegistrarPolicy()
        self.security = SecurityPolicy()
    }

    public init(config: ConfigReader) throws {
        func port(_ key: ConfigKey, _ fallback: Int) throws -> Int? {
            let value = config.int(forKey: key, default: fallback)
            guard (-1...65535).contains(value) else { throw GatehouseError.invalidConfiguration("\(key) must be a port, 0 for any, or -1 for off") }
            return value < 0 ? nil : value
        }
        self.host = config.string(forKey: "sip.host", default: "127.0.0.1")
        self.udpPort = try port("sip.udp.port", 5060)
        self.tcpPort = try port("sip.tcp.port", 5060)
        self.tlsCertificateFile = config.string(forKey: "sip.tls.certificateFile")
        self.tlsKeyFile = config.string(forKey: "sip.tls.keyFile")
        self.tlsPort = self.tlsCertificateFile != nil && self.tlsKeyFile != nil ? try port("sip.tls.port", 5061) : nil
        self.wsPort = try port("sip.ws.port", 8088)
        self.wssPort = self.tlsCertificateFile != nil && self.tlsKeyFile != nil ? try port("sip.wss.port", 8089) : nil
        self.advertisedHost = config.string(forKey: "sip.advertisedHost", default: self.host == "0.0.0.0" ? "127.0.0.1" : self.host)
        self.limits = Limits()
        self.limits.messageBytes = config.int(forKey: "sip.limits.messageBytes", default: self.limits.messageBytes)
        self.limits.inFlight = config.int(forKey: "sip.limits.inFlight", default: self.limits.inFlight)
        self.limits.connectionsPerAddress = config.int(forKey: "sip.limits.connectionsPerAddress", default: self.limits.connectionsPerAddress)
        self.limits.connections = config.int(forKey: "sip.limits.connections", default: self.limits.connections)
        self.registrar = RegistrarPolicy()
        self.registrar.minExpires = config.int(forKey: "sip.registrar.minExpires", default: self.registrar.minExpires)
        self.registrar.maxExpires = config.int(forKey: "sip.registrar.maxExpires", default: self.registrar.maxExpires)
        self.registrar.defaultExpires = config.int(forKey: "sip.registrar.defaultExpires", default: self.registrar.defaultExpires)
        self.registrar.maxContacts = config.int(forKey: "sip.registrar.maxContacts", default: self.registrar.maxContacts)
        let cacheSeconds = config.int(forKey: "sip.registrar.accountCacheSeconds", default: 30)
        guard (0...3600).contains(cacheSeconds) else { throw GatehouseError.invalidConfiguration("sip.registrar.accountCacheSeconds must be 0–3600") }
        self.registrar.accountCacheLifetime = .seconds(cacheSeconds)
        var algorithms: [SIPDigest.Algorithm] = []
        for name in config.string(forKey: "sip.digest.algorithms", default: "MD5").split(separator: ",") {
            guard let algorithm = SIPDigest.Algorithm(rawValue: name.trimmingCharacters(in: .whitespaces).uppercased()),
                !algorithms.contains(algorithm)
            else { throw GatehouseError.invalidConfiguration("sip.digest.algorithms lists MD5 and/or SHA-256, comma-separated") }
            algorithms.append(algorithm)
        }
        guard !algorithms.isEmpty else { throw GatehouseError.invalidConfiguration("sip.digest.algorithms must not be empty") }
        self.registrar.algorithms = algorithms
        guard self.registrar.minExpires >= 1, self.registrar.minExpires <= self.registrar.defaultExpires,
            self.registrar.defaultExpires <= self.registrar.maxExpires, (1...16).contains(self.registrar.maxContacts)
        else {
            throw GatehouseError.invalidConfiguration("sip.registrar: need 1 ≤ minExpires ≤ defaultExpires ≤ maxExpires and 1 ≤ maxContacts ≤ 16")
        }
        let keys = config.string(forKey: "sip.doorOpenKeys", default: "#").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).uppercased()
        }
        guard !keys.isEmpty, keys.allSatisfy({ $0.count == 1 && "0123456789*#ABCD".contains($0) }) else {
            throw GatehouseError.invalidConfiguration("sip.doorOpenKeys lists single keys from 0-9, *, #, A-D, comma-separated")
        }
        self.doorOpenKeys = Set(keys)
        let planSeconds = config.int(forKey: "sip.routing.planCacheSeconds", default: 5)
        guard (0...300).contains(planSeconds) else { throw GatehouseError.invalidConfiguration("sip.routing.planCacheSeconds must be 0–300") }
        self.planCacheLifetime = .seconds(planSeconds)
        if let host = config.string(forKey: "sip.trunk.host"), !host.isEmpty {
            let transportName = config.string(forKey: "sip.trunk.transport", default: "UDP").uppercased()
            guard let transport = SIPTransportKind(rawValue: transportName), [.udp, .tcp, .tls].contains(transport) else {
                throw GatehouseError.invalidConfiguration("sip.trunk.transport is UDP, TCP or TLS")
            }
            let trunkPort = config.int(forKey: "sip.trunk.port", default: transport == .tls ? 5061 : 5060)
            guard (1...65535).contains(trunkPort) else { throw GatehouseError.invalidConfiguration("sip.trunk.port must be a port") }
            var trunk = Trunk(
                host: host,
                port: trunkPort,
                username: config.string(forKey: "sip.trunk.username"),
                password: config.string(forKey: "sip.trunk.password", isSecret: true),
                callerId: config.string(forKey: "sip.trunk.callerId")
            )
            guard (trunk.username == nil) == (trunk.password == nil) else {
                throw GatehouseError.invalidConfiguration("sip.trunk.username and sip.trunk.password go together")
            }
            if let callerId = trunk.callerId, !Self.isE164(callerId) {
                throw GatehouseError.invalidConfiguration("sip.trunk.callerId must be an E.164 number (+ and 7–15 digits)")
            }
            trunk.transport = transport
            trunk.caFile = config.string(forKey: "sip.trunk.tls.caFile")
            if let caFile = trunk.caFile, !FileManager.default.isReadableFile(atPath: caFile) {
                throw GatehouseError.invalidConfiguration("sip.trunk.tls.caFile \(caFile) cannot be read")
            }
            trunk.maxCalls = config.int(forKey: "sip.trunk.maxCalls", default: trunk.maxCalls)
            guard (1...10_000).contains(trunk.maxCalls) else { throw GatehouseError.invalidConfiguration("sip.trunk.maxCalls must be 1–10000") }
            self.trunk = trunk
        }
        self.security = SecurityPolicy()
        self.security.failuresBeforeBan = config.int(forKey: "sip.security.failuresBeforeBan", default: self.security.failuresBeforeBan)
        self.security.banDuration = .seconds(config.int(forKey: "sip.security.banSeconds", default: 900))
        self.security.requestsPerSecond = config.double(forKey: "sip.security.requestsPerSecond", default: self.security.requestsPerSecond)
        self.security.burst = config.double(forKey: "sip.security.burst", default: self.security.burst)
        self.security.trustedAddresses = Set(
            config.string(forKey: "sip.security.trustedAddresses", default: "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
        )
    }

    /// `+` and 7–15 digits, the first not 0 (the form identity keeps fallback numbers in).
    static func isE164(_ text: String) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.first == "+" && (7...15).contains(digits.count) && digits.first != UInt8(ascii: "0")
            && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
