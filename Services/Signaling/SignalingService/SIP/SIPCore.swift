import Crypto
import GatehouseAuth
import GatehouseSIP
import Logging
import Metrics
import ServiceKit
import Synchronization

/// Everything between the transports and the registrar: per-address admission, request checks
/// (RFC 3261 §8.2, §16.3), server transactions, and dispatch by method.
final class SIPCore: SIPMessageSink {
    let transport: SIPTransportLayer
    let registrar: Registrar
    let authenticator: DigestAuthenticator
    let sources: SourceGuard
    let transactions: ServerTransactions
    let router: CallRouter
    let limits: SignalingConfiguration.Limits
    let logger: Logger
    private let inFlight = Atomic<Int>(0)
    private let requests = Counter(label: "gatehouse_sip_requests_total")
    private let dropped = Counter(label: "gatehouse_sip_dropped_total")
    private let rejected = Counter(label: "gatehouse_sip_rejected_total")

    /// Option tags this server understands in Require and Proxy-Require.
    static let supported: Set<String> = ["path", "outbound", "gruu"]
    static let allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, MESSAGE, NOTIFY, SUBSCRIBE, REFER, UPDATE, PRACK"

    init(
        transport: SIPTransportLayer,
        registrar: Registrar,
        authenticator: DigestAuthenticator,
        sources: SourceGuard,
        bus: MessageBus,
        host: String,
        limits: SignalingConfiguration.Limits,
        doorOpenKeys: Set<String>,
        planLifetime: Duration = .zero,
        trunk: SignalingConfiguration.Trunk? = nil,
        logger: Logger
    ) {
        self.transport = transport
        self.registrar = registrar
        self.authenticator = authenticator
        self.sources = sources
        self.transactions = ServerTransactions(capacity: limits.transactions)
        self.router = CallRouter(
            transport: transport,
            transactions: self.transactions,
            bus: bus,
            store: registrar.store,
            accounts: authenticator.directory,
            planLifetime: planLifetime,
            host: host,
            doorOpenKeys: doorOpenKeys,
            trunk: trunk,
            logger: logger
        )
        self.limits = limits
        self.logger = logger
    }

    /// A deterministic To tag for our responses to a request, so retransmitted answers match.
    static func toTag(for request: SIPRequest) -> String { self.toTag(headers: request.headers) }

    static func toTag(headers: SIPHeaders) -> String {
        let seed = [headers.callID ?? "", headers.from?.tag ?? "", headers.topVia?.branch ?? ""].joined(separator: "|")
        return Hex.encode(SHA256.hash(data: Array(seed.utf8)).prefix(8))
    }

    func received(_ result: Result<SIPMessage, SIPParseError>, from peer: SIPPeer) {
        switch result {
        case .failure(let error):
            // Malformed responses are dropped; malformed requests answered unless the source is banned.
            guard let status = error.status, self.sources.admit(peer.ip) == .allow else {
                self.dropped.increment()
                return
            }
            self.rejected.increment()
            var response = SIPResponse(status: status, replyingTo: error.headers, toTag: Self.toTag(headers: error.headers))
            response.headers.add("Warning", "399 gatehouse \"\(error.detail)\"")
            self.transport.send(.response(response), to: peer)
        case .success(.response(let response)):
            // Ours when our Via is on top: to a branch of a call or to a request forwarded in a
            // dialog. Anything else is stray (RFC 4475 §3.3.10) and dropped.
            guard response.isWellFormed, self.sources.admit(peer.ip) != .banned else {
                self.dropped.increment()
                return
            }
            self.router.response(response, from: peer)
        case .success(.request(let request)):
            self.handle(request, from: peer)
        }
    }

    func handle(_ request: SIPRequest, from peer: SIPPeer) {
        switch self.sources.admit(peer.ip) {
        case .allow: break
        case .banned, .limited:
            self.dropped.increment()
            return
        }
        self.requests.increment()
        if let problem = request.syntaxProblem() {
            if request.method != .ack { self.answer(request, problem, to: peer, transaction: nil) }
            return
        }
        // Inside a dialog (a To tag): follow the Route set we recorded, statelessly. An ACK without
        // our Route acknowledges one of our own non-2xx answers and ends there.
        if request.headers.to?.tag != nil, request.method != .cancel {
            let routed = request.headers.values(.route).first.flatMap(SIPAddress.init).map { self.router.isOurs($0.uri) } ?? false
            guard routed else {
                if request.method == .ack {
                    // The ACK for one of our non-2xx finals: stop resending it.
                    if let key = ServerTransactions.key(request) { self.transactions.acknowledge(key) }
                } else {
                    self.answer(request, SIPRejection(481, "no such dialog"), to: peer, transaction: nil)
                }
                return
            }
            if let problem = request.proxyProblem(supported: Self.supported) {
                if request.method != .ack { self.answer(request, problem, to: peer, transaction: nil) }
                return
            }
            Task {
                if let status = await self.router.forwardInDialog(request, from: peer), request.method != .ack {
                    self.answer(request, SIPRejection(status, "cannot forward inside the dialog"), to: peer, transaction: nil)
                }
            }
            return
        }
        guard request.method != .ack else { return }
        guard let key = ServerTransactions.key(request) else { return }
        switch self.transactions.begin(key) {
        case .new: break
        case .retransmission(let response):
            if let response { self.transport.send(.response(response), to: peer) }
            return
        case .full:
            self.answer(request, SIPRejection(503, "too many transactions", headers: [(.retryAfter, "2")]), to: peer, transaction: nil)
            return
        }
        switch request.method {
        case .register:
            if let problem = request.registrarProblem(supported: Self.supported) {
                self.answer(request, problem, to: peer, transaction: key)
                return
            }
            self.work(request, from: peer, transaction: key) { await self.registrar.register(request, from: peer) }
        case .options:
            var response = SIPResponse(status: 200, replyingTo: request.headers, toTag: Self.toTag(for: request))
            response.headers.add(.allow, Self.allow)
            response.headers.add(.accept, "application/sdp")
            response.headers.add(.supported, Self.supported.sorted().joined(separator: ", "))
            self.finish(key, response, to: peer)
        case .cancel:
            // CANCEL is hop-by-hop: 200 and 487 when it matches a call being set up, else 481.
            self.transactions.abandon(key)
            if !self.router.cancel(request, from: peer) {
                self.answer(request, SIPRejection(481, "no such call"), to: peer, transaction: nil)
            }
        case .invite:
            if let problem = request.proxyProblem(supported: Self.supported) {
                self.answer(request, problem, to: peer, transaction: key)
                return
            }
            // 100 at once (RFC 3261 §16.2), so the caller stops retransmitting while we work.
            self.transport.send(.response(SIPResponse(status: 100, replyingTo: request.headers, toTag: nil)), to: peer)
            self.work(request, from: peer, transaction: key, handledElsewhere: true) { await self.call(request, from: peer, transaction: key) }
        case .bye:
            self.answer(request, SIPRejection(481, "no such call"), to: peer, transaction: key)
        default:
            if let problem = request.proxyProblem(supported: Self.supported) {
                self.answer(request, problem, to: peer, transaction: key)
                return
            }
            // Every other request must authenticate first (407), then finds no route yet.
            self.work(request, from: peer, transaction: key) { await self.authorizeThenRefuse(request, from: peer) }
        }
    }

    /// An initial INVITE: the caller authenticates (407), then the call router rings the plan and
    /// answers the caller itself (nil here).
    func call(_ request: SIPRequest, from peer: SIPPeer, transaction key: ServerTransactions.Key) async -> SIPResponse? {
        switch await self.authenticator.authorize(request, realm: request.uri.host, from: peer) {
        case .authenticated(let account):
            await self.router.invite(request, from: peer, key: key, account: account)
            return nil
        case .respond(let response): return response
        case .drop: return nil
        }
    }

    /// Other requests outside a dialog (MESSAGE, SUBSCRIBE, INFO…) are not routed yet: an
    /// authenticated one gets 480, an unauthenticated one its 407 challenge.
    func authorizeThenRefuse(_ request: SIPRequest, from peer: SIPPeer) async -> SIPResponse? {
        guard let realm = request.headers.from?.uri.host else {
            return SIPResponse(status: 400, replyingTo: request.headers, toTag: Self.toTag(for: request))
        }
        switch await self.authenticator.authorize(request, realm: realm, from: peer) {
        case .authenticated: return SIPResponse(status: 480, replyingTo: request.headers, toTag: Self.toTag(for: request))
        case .respond(let response): return response
        case .drop: return nil
        }
    }

    /// Runs `body` off the event loop, within the in-flight limit (503 with Retry-After above it).
    /// `body` returns the response, or nil: dropped (a banned source), or, with `handledElsewhere`,
    /// answered by someone else (the call router) unless it was dropped there too.
    private func work(
        _ request: SIPRequest,
        from peer: SIPPeer,
        transaction key: ServerTransactions.Key,
        handledElsewhere: Bool = false,
        _ body: @escaping @Sendable () async -> SIPResponse?
    ) {
        guard self.inFlight.add(1, ordering: .relaxed).newValue <= self.limits.inFlight else {
            self.inFlight.subtract(1, ordering: .relaxed)
            self.answer(request, SIPRejection(503, "overloaded", headers: [(.retryAfter, "1")]), to: peer, transaction: key)
            return
        }
        Task {
            defer { self.inFlight.subtract(1, ordering: .relaxed) }
            if let response = await body() {
                self.finish(key, response, to: peer)
            } else if !handledElsewhere || self.sources.isBanned(peer.ip) {
                self.dropped.increment()
                self.transactions.abandon(key)
            }
        }
    }

    private func answer(_ request: SIPRequest, _ problem: SIPRejection, to peer: SIPPeer, transaction key: ServerTransactions.Key?) {
        self.rejected.increment()
        var response = SIPResponse(status: problem.status, replyingTo: request.headers, toTag: Self.toTag(for: request))
        for (name, value) in problem.headers { response.headers.add(name, value) }
        response.headers.add("Warning", "399 gatehouse \"\(problem.detail)\"")
        if let key {
            self.finish(key, response, to: peer)
        } else {
            self.transport.send(.response(response), to: peer)
        }
    }

    private func finish(_ key: ServerTransactions.Key, _ response: SIPResponse, to peer: SIPPeer) {
        let transport = self.transport
        self.transactions.answer(key, with: response, reliable: peer.transport.isReliable) { transport.send(.response(response), to: peer) }
    }
}
