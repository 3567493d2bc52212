import AccessService
import AsyncHTTPClient
import Crypto
public import Foundation
public import GatehouseWire
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle
import Synchronization

/// The door's side of offline operation: it keeps its signed credential bundle current by
/// long-polling access (`GET …/doors/{door}/bundle?since=…&wait=…` with its device token), asks
/// access first when a credential is presented, and decides from the bundle when access cannot be
/// reached in time.
public final class OfflineFollower: Service, Sendable {
    public struct Configuration: Sendable {
        /// Access's admin HTTP base URL (`http://127.0.0.1:8082`).
        public var accessURL: String
        public var tenant: TenantID
        public var door: UUID
        /// The door's device token (`ghd_…`).
        public var token: String
        /// Access's Ed25519 signing key (base64, raw), pinned when the token was issued.
        public var signingKey: String
        /// How long a long-poll waits for a change, and how long a presentation waits for access.
        public var wait: Duration
        public var onlineTimeout: Duration

        public init(
            accessURL: String,
            tenant: TenantID,
            door: UUID,
            token: String,
            signingKey: String,
            wait: Duration = .seconds(25),
            onlineTimeout: Duration = .seconds(2)
        ) {
            self.accessURL = accessURL
            self.tenant = tenant
            self.door = door
            self.token = token
            self.signingKey = signingKey
            self.wait = wait
            self.onlineTimeout = onlineTimeout
        }
    }

    /// What the follower knows now (`GET /sim/bundle`).
    public struct Status: Codable, Sendable, Hashable {
        /// Decisions taken offline that access does not have yet.
        public var pendingDecisions: Int
        public var cursor: Int64?
        public var passes: Int
        public var credentials: Int
        /// Ids of passes and credentials the bundle says are revoked.
        public var revoked: [UUID]
        public var lastFetchAt: Date?
        public var bundles: Int
    }

    /// A presentation's outcome (`POST /sim/keypad`).
    public struct Outcome: Codable, Sendable, Hashable {
        public var granted: Bool
        public var reason: AccessReason
        /// Decided from the bundle because access could not be reached.
        public var offline: Bool

        public init(granted: Bool, reason: AccessReason, offline: Bool) {
            self.granted = granted
            self.reason = reason
            self.offline = offline
        }
    }

    public let configuration: Configuration
    let key: Curve25519.Signing.PublicKey
    let client: HTTPClient
    let logger: Logger
    let state = Mutex((offline: OfflineState(), lastFetchAt: Date?.none, bundles: 0))

    public init(configuration: Configuration, logger: Logger) throws {
        guard let raw = Data(base64Encoded: configuration.signingKey), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw OfflineFollowerError.badSigningKey
        }
        self.configuration = configuration
        self.key = key
        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .disallow
        // Access down must show as an error soon (the client would otherwise keep trying to connect
        // until the request's own deadline), so the door reports and retries on its own schedule.
        http.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(2))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        self.logger = logger
    }

    var doorURL: String {
        "\(self.configuration.accessURL)/v1/tenants/\(self.configuration.tenant)/doors/\(self.configuration.door.lowercasedString)"
    }

    public var status: Status {
        self.state.withLock { state in
            let revoked = state.offline.passes.values.filter(\.revoked).map(\.id) + state.offline.credentials.values.filter(\.revoked).map(\.id)
            return Status(
                pendingDecisions: state.offline.pending.count,
                cursor: state.offline.latest?.cursor,
                passes: state.offline.passes.count,
                credentials: state.offline.credentials.count,
                revoked: revoked.sorted { $0.uuidString < $1.uuidString },
                lastFetchAt: state.lastFetchAt,
                bundles: state.bundles
            )
        }
    }

    /// Long-polls access until shutdown; after a failure waits 1 s (up to 10 s) and tries again.
    public func run() async throws {
        var backoff = Duration.seconds(1)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // What the door decided offline first, then the (long-polled) bundle.
                try await self.report()
                try await self.fetch()
                backoff = .seconds(1)
            } catch is CancellationError {
                break
            } catch {
                self.logger.notice("access not reached (bundle or decision report); retrying", metadata: ["error.type": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
        try await self.client.shutdown()
    }

    /// One fetch: a whole bundle when due, else a delta (waiting for a change).
    func fetch() async throws {
        let (whole, cursor) = self.state.withLock { ($0.offline.needsWhole(at: Date()), $0.offline.latest?.cursor) }
        var url = "\(self.doorURL)/bundle"
        if !whole, let cursor { url += "?since=\(cursor)&wait=\(self.configuration.wait.components.seconds)" }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.token)")
        let response = try await self.client.execute(request, timeout: .seconds(self.configuration.wait.components.seconds + 10))
        let body = try await response.body.collect(upTo: 32 * 1024 * 1024)
        guard response.status == .ok else { throw OfflineFollowerError.status(Int(response.status.code)) }
        guard let signed = try? JSONDecoder().decode(SignedBundle.self, from: Data(Array(buffer: body))),
            let bundle = signed.verified(with: self.key),
            bundle.tenantId == self.configuration.tenant, bundle.doorId == self.configuration.door
        else { throw OfflineFollowerError.badBundle }
        self.state.withLock { state in
            state.offline.apply(bundle)
            state.lastFetchAt = Date()
            state.bundles += 1
        }
    }

    /// Sends the decisions taken offline to access.
    func report() async throws {
        let pending = self.state.withLock { Array($0.offline.pending.prefix(OfflineDecision.maxPerReport)) }
        guard !pending.isEmpty else { return }
        struct Report: Encodable { var decisions: [OfflineDecision] }
        var request = HTTPClientRequest(url: "\(self.doorURL)/offline-decisions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: Array(try WireCoding.encode(Report(decisions: pending)))))
        let response = try await self.client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok else { throw OfflineFollowerError.status(Int(response.status.code)) }
        self.state.withLock { $0.offline.reported(Set(pending.map(\.id))) }
        self.logger.info("offline decisions reported", metadata: ["gatehouse.count": "\(pending.count)"])
    }

    /// A credential presented at the door: access decides (and opens the door through the
    /// station's API); when access cannot be reached within `onlineTimeout`, the bundle decides.
    public func present(pin: String?, card: CardRead?, qr: String?) async -> Outcome {
        var request = HTTPClientRequest(url: "\(self.doorURL)/credentials")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(self.configuration.token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        let presented = PresentCredential(doorId: self.configuration.door, pin: pin, qr: qr, card: card)
        if let body = try? WireCoding.encode(presented) { request.body = .bytes(ByteBuffer(bytes: Array(body))) }
        do {
            let response = try await self.client.execute(request, timeout: .seconds(self.configuration.onlineTimeout.components.seconds))
            let body = try await response.body.collect(upTo: 64 * 1024)
            if response.status == .ok, let result = try? WireCoding.decode(UnlockResult.self, from: Data(Array(buffer: body))) {
                return Outcome(granted: result.granted, reason: result.reason, offline: false)
            }
            // A refusal of the request itself (4xx) is an answer, not an outage.
            if (400..<500).contains(Int(response.status.code)) { return Outcome(granted: false, reason: .invalidCredential, offline: false) }
        } catch {
            self.logger.notice("access unreachable: deciding from the offline bundle", metadata: ["error.type": "\(error)"])
        }
        let reason = self.state.withLock { $0.offline.decide(pin: pin, card: card, qr: qr, at: Date()) }
        return Outcome(granted: reason.grants, reason: reason, offline: true)
    }
}

public enum OfflineFollowerError: Error {
    case badSigningKey
    case status(Int)
    case badBundle
}
