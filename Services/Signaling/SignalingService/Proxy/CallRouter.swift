import Crypto
import Foundation
import GatehouseAuth
import GatehouseSIP
import GatehouseWire
import Logging
import NIOCore
import NIOSSL
import ServiceKit
import Synchronization

/// The stateful forking proxy for calls (RFC 3261 §16): a door station's INVITE to a unit is
/// authenticated, resolved through identity into the unit's ring plan and forked in parallel to
/// every registered device of a step; the first 2xx wins and the other branches are cancelled with a
/// Reason header; when a step rings out, is all busy or has nobody registered, the next step
/// (building, then site fallbacks) rings. Requests inside a dialog follow the Route set we
/// recorded and are forwarded statelessly, as are responses to them.
final class CallRouter: Sendable {
    /// One forked call: the caller's INVITE server transaction and the branches it rings.
    final class Call: Sendable {
        struct Branch: Sendable {
            var request: SIPRequest
            var peer: SIPPeer
            var via: SIPVia
            var deviceId: UUID?
            var personId: UUID?
            /// The external number a trunk branch calls.
            var number: String?
            /// The last response status (0 before any).
            var status: Int = 0
            var cancelled = false
            /// A trunk branch sent again with credentials after the carrier's challenge.
            var authenticated = false
            /// How much higher this branch's CSeq is than the caller's (1 after a challenge): its
            /// responses go up with the caller's number, the caller's requests in the dialog down
            /// with ours.
            var cseqShift = 0
            /// Counted against ``SignalingConfiguration/Trunk/maxCalls`` until it is done.
            var holdsTrunk = false
        }

        struct State: Sendable {
            var branches: [String: Branch] = [:]
            var step = 0
            var answered = false
            var finished = false
            /// The best final non-2xx answer so far (RFC 3261 §16.7 step 6).
            var best: SIPResponse?
        }

        let invite: SIPRequest
        let caller: SIPPeer
        let key: ServerTransactions.Key
        let tenant: TenantID
        /// The ring plan: the unit's steps, or the one door station a resident or staff calls.
        let steps: [RingStep]
        let toTag: String
        /// Who may press the door-open key during the call: the answering device (a door station
        /// called a unit), or the caller (a resident or staff called a door station).
        let keyPresser: Dialog.KeyPresser
        /// The call's id in events (`callid`), and what its events are about.
        let id = UUID()
        let context: EventContext
        let state = Mutex(State())
        /// The site's call hours when the call started (nil: business hours).
        let hours: CallHours?

        init(
            invite: SIPRequest,
            caller: SIPPeer,
            key: ServerTransactions.Key,
            tenant: TenantID,
            steps: [RingStep],
            toTag: String,
            keyPresser: Dialog.KeyPresser,
            context: (site: UUID, building: UUID?, door: UUID?, unit: UUID?),
            hours: CallHours? = nil
        ) {
            self.hours = hours
            self.invite = invite
            self.caller = caller
            self.key = key
            self.tenant = tenant
            self.steps = steps
            self.toTag = toTag
            self.keyPresser = keyPresser
            self.context = EventContext(site: context.site, building: context.building, door: context.door, unit: context.unit, call: self.id)
        }

        /// Whether step `index` rings now (decision 0021): a fallback for the other side of the
        /// site's call hours does not, nor the unit's residents after hours at a site that skips them.
        func rings(_ index: Int) -> Bool {
            let step = self.steps[index]
            let afterHours = self.hours?.afterHours ?? false
            if step.kind == .unit, afterHours, self.hours?.unitsRingAfterHours == false { return false }
            switch step.hours ?? .always {
            case .always: return true
            case .business: return !afterHours
            case .afterHours: return afterHours
            }
        }
    }

    let transport: SIPTransportLayer
    let transactions: ServerTransactions
    let bus: MessageBus
    let store: LocationStore
    /// Identity's SIP accounts (door stations called by name).
    let accounts: any SIPAccountDirectory
    /// Ring plans identity answered, kept briefly (nil: ask every time).
    let plans: ExpiringCache<PlanKey, PlanEntry>?
    /// Sites' call hours access control answered.
    let hours = ExpiringCache<SiteKey, CallHours>(lifetime: CallRouter.callHoursLifetime)
    let host: String
    /// The carrier trunk for external numbers, and how its name is resolved.
    let trunk: SignalingConfiguration.Trunk?
    /// How the trunk's TLS certificate is checked (a TLS trunk only).
    let trunkTLS: NIOSSLContext?
    let resolver: SIPResolver
    /// External branches ringing now (``SignalingConfiguration/Trunk/maxCalls``).
    private let trunkBranches = Atomic<Int>(0)
    /// Our CANCELs over UDP not yet answered, by branch (resent until they are, RFC 3261 §17.1.2.2).
    private let pendingCancels = Mutex<Set<String>>([])
    /// CANCELs resent at once at most; beyond it they are sent once.
    static let maxPendingCancels = 10_000
    let logger: Logger
    /// Branch id → call.
    private let branches = Mutex<[String: Call]>([:])
    /// INVITE server transaction → call (for CANCEL).
    private let calls = Mutex<[ServerTransactions.Key: Call]>([:])
    /// An answered call, until its BYE: for `call_ended` with the talk time, and for the door-open
    /// key the resident presses during it.
    struct Dialog: Sendable {
        var call: UUID
        var tenant: TenantID
        var context: EventContext
        var answeredAt: ContinuousClock.Instant
        /// Which side presses the door-open key: the callee when a door station called, the caller
        /// when a resident or staff called a door station.
        enum KeyPresser: Sendable {
            case callee
            case caller(device: UUID, person: UUID?)
        }

        /// The caller's From tag: a request whose To carries it comes from the callee, one whose
        /// From carries it from the caller.
        var callerTag: String?
        var keyPresser: KeyPresser
        /// The device and person on whose authority the door opens, and the only address that may
        /// press the key.
        var deviceId: UUID?
        var personId: UUID?
        var presserIP: String
        /// The last door-open request of this call (repeats within ``unlockInterval`` are ignored).
        var unlockedAt: ContinuousClock.Instant?
        /// Added to the CSeq of the caller's requests on their way to the callee (a trunk that
        /// challenged the INVITE saw a higher number), taken off the callee's answers to them.
        var cseqShift = 0
        /// When the BYE passed (a dialog with a CSeq shift is kept a little longer for the BYE's answer).
        var ended = false
    }

    /// Answered calls by SIP Call-ID.
    private let dialogs = Mutex<[String: Dialog]>([:])
    /// The keys that open the door (`sip.doorOpenKeys`).
    let doorOpenKeys: Set<String>
    /// One door-open request per call in this interval: phones send an INFO per key press and
    /// some repeat them.
    static let unlockInterval = Duration.seconds(3)
    /// Call events, published one after another in the order they happened.
    private let events: AsyncStream<@Sendable () async -> Void>
    private let eventSink: AsyncStream<@Sendable () async -> Void>.Continuation
    /// Answered calls remembered at most (the oldest are forgotten beyond; their end goes unannounced).
    static let maxDialogs = 100_000

    init(
        transport: SIPTransportLayer,
        transactions: ServerTransactions,
        bus: MessageBus,
        store: LocationStore,
        accounts: any SIPAccountDirectory,
        planLifetime: Duration = .zero,
        host: String,
        doorOpenKeys: Set<String> = ["#"],
        trunk: SignalingConfiguration.Trunk? = nil,
        resolver: SIPResolver = SIPResolver(),
        logger: Logger
    ) {
        self.trunk = trunk
        self.resolver = resolver
        if let trunk, trunk.transport == .tls {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = trunk.caFile { tls.trustRoots = .file(caFile) }
            do {
                self.trunkTLS = try NIOSSLContext(configuration: tls)
            } catch {
                logger.error("sip: the trunk's TLS settings are unusable; external numbers will be skipped", metadata: ["error": "\(error)"])
                self.trunkTLS = nil
            }
        } else {
            self.trunkTLS = nil
        }
        self.accounts = accounts
        self.plans = planLifetime > .zero ? ExpiringCache(lifetime: planLifetime, capacity: 100_000) : nil
        self.doorOpenKeys = doorOpenKeys
        self.transport = transport
        self.transactions = transactions
        self.bus = bus
        self.store = store
        self.host = host
        self.logger = logger
        (self.events, self.eventSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// Publishes call events until `stop()`.
    func publishEvents() async {
        for await publish in self.events { await publish() }
    }

    func stop() { self.eventSink.finish() }

    func emit<E: GatehouseEventData>(_ data: E, tenant: TenantID, context: EventContext) {
        let bus = self.bus
        let logger = self.logger
        self.eventSink.yield {
            do {
                try await bus.publish(data, tenant: tenant, subject: context.callid.map { "call/\($0.lowercasedString)" }, context: context)
            } catch {
                logger.warning("sip: a call event was not published", metadata: ["gatehouse.type": "\(E.eventType.type)", "error": "\(error)"])
            }
        }
    }

    // MARK: - Our address

    func port(for transport: SIPTransportKind) -> Int {
        switch transport {
        case .udp: self.transport.bound?.udp?.port ?? 5060
        case .tcp: self.transport.bound?.tcp?.port ?? 5060
        case .tls: self.transport.bound?.tls?.port ?? 5061
        case .ws: self.transport.bound?.ws?.port ?? 8088
        case .wss: self.transport.bound?.wss?.port ?? 8089
        }
    }

    /// Whether a URI names this proxy (a Route we recorded).
    func isOurs(_ uri: SIPURI) -> Bool {
        uri.host == self.host.lowercased() && SIPTransportKind.allCases.map(self.port(for:)).contains(uri.port ?? 5060)
    }

    /// Our Record-Route for the side of a call on `transport`: that listener, with the transport
    /// named unless it is UDP (RFC 5658 §3).
    func recordRoute(_ transport: SIPTransportKind) -> String {
        let port = self.port(for: transport)
        return transport == .udp
            ? "<sip:\(self.host):\(port);lr>" : "<sip:\(self.host):\(port);transport=\(transport.rawValue.lowercased());lr>"
    }

    func newVia(_ transport: SIPTransportKind) -> SIPVia {
        var via = SIPVia(
            transport: transport.rawValue,
            host: self.host,
            port: self.port(for: transport),
            branch: "z9hG4bK-gh-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        )
        via.parameters.append("rport", nil)
        return via
    }

    /// Records where a request really came from on its top Via (RFC 3581), so responses find the
    /// way back through NAT.
    static func stampReceived(_ request: inout SIPRequest, from peer: SIPPeer) {
        guard let first = request.headers.fields.firstIndex(where: { $0.name == .via }) else { return }
        var values = SIPHeaders.split(request.headers.fields[first].value)
        guard var via = values.first.flatMap(SIPVia.init) else { return }
        via.parameters.set("received", peer.ip)
        if via.parameters.contains("rport") { via.parameters.set("rport", "\(peer.port)") }
        values[0] = via.description
        request.headers.setValue(at: first, values.joined(separator: ", "))
    }

    // MARK: - Initial INVITE

    /// Starts a call: `account` is the authenticated caller. Answers the caller itself.
    func invite(_ request: SIPRequest, from caller: SIPPeer, key: ServerTransactions.Key, account: SIPAccount) async {
        let toTag = SIPCore.toTag(for: request)
        func fail(_ status: Int, _ detail: String) {
            var response = SIPResponse(status: status, replyingTo: request.headers, toTag: toTag)
            response.headers.add("Warning", "399 gatehouse \"\(detail)\"")
            let transport = self.transport
            self.transactions.answer(key, with: response, reliable: caller.transport.isReliable) { [response] in
                transport.send(.response(response), to: caller)
            }
        }
        guard let dialled = request.uri.userDecoded else { return fail(404, "no number dialled") }
        let plan: DialPlan?
        do {
            plan = try await self.plan(domain: request.uri.host, dialled: dialled)
        } catch {
            self.logger.warning("sip: identity did not resolve a dialled number", metadata: ["error": "\(error)"])
            return fail(503, "directory unavailable")
        }
        var stamped = request
        Self.stampReceived(&stamped, from: caller)
        // A unit of the caller's own site (a device calls within its own site only).
        if let plan, plan.tenantId == account.tenantId, plan.siteId == account.siteId {
            let hours = await self.callHours(tenant: plan.tenantId, site: plan.siteId)
            let call = Call(
                invite: stamped,
                caller: caller,
                key: key,
                tenant: plan.tenantId,
                steps: plan.steps,
                toTag: toTag,
                keyPresser: .callee,
                context: (plan.siteId, plan.buildingId, account.doorId, plan.unitId),
                hours: hours
            )
            return await self.start(call, account: account, dialled: dialled)
        }
        // Otherwise a door station of the site, which its residents and staff may call to look
        // and talk before they open.
        switch await self.station(dialled: dialled, domain: request.uri.host, caller: account) {
        case .none:
            self.notFound(dialled: dialled, account: account)
            return fail(404, "no such number")
        case .refused:
            self.notFound(dialled: dialled, account: account)
            return fail(403, "not allowed to call this door station")
        case .station(let station, let door):
            let call = Call(
                invite: stamped,
                caller: caller,
                key: key,
                tenant: account.tenantId,
                steps: [
                    RingStep(
                        kind: .doorStation,
                        ringSeconds: Self.stationRingSeconds,
                        targets: [RingTarget(deviceId: station.deviceId, sipUsername: station.username)]
                    )
                ],
                toTag: toTag,
                keyPresser: .caller(device: account.deviceId, person: account.personId),
                context: (door.siteId, door.buildingId, door.id, account.unitId)
            )
            return await self.start(call, account: account, dialled: dialled)
        }
    }

    struct SiteKey: Hashable, Sendable {
        var tenant: TenantID
        var site: UUID
    }

    /// How long a site's call hours are kept: a change, or the hour turning, reaches calls within it.
    static let callHoursLifetime = Duration.seconds(30)

    /// The site's call hours now, from access control, kept ``callHoursLifetime``; nil, meaning
    /// business hours, when access does not answer within 500 ms (that is kept as long, so a
    /// missing access service costs one request per site and interval): every step then rings as
    /// if there were no call hours, so a visitor still reaches someone.
    func callHours(tenant: TenantID, site: UUID) async -> CallHours? {
        let bus = self.bus
        let logger = self.logger
        let answer = try? await self.hours.value(SiteKey(tenant: tenant, site: site)) { () -> CallHours? in
            do {
                return try await bus.request(CallHoursLookup(siteId: site), tenant: tenant, timeout: .milliseconds(500))
            } catch {
                logger.notice("sip: no call hours from access control; ringing as in business hours", metadata: ["error": "\(error)"])
                return CallHours(afterHours: false)
            }
        }
        return answer ?? nil
    }

    struct PlanKey: Hashable, Sendable {
        var domain: String
        var dialled: String
    }

    /// A ring plan identity answered, or that the number does not exist.
    enum PlanEntry: Sendable {
        case plan(DialPlan)
        case none
    }

    /// Identity's ring plan for `dialled` at `domain` (nil: no such unit), kept for
    /// ``planLifetime`` unless identity announces a change first.
    func plan(domain: String, dialled: String) async throws -> DialPlan? {
        let bus = self.bus
        let key = PlanKey(domain: domain.lowercased(), dialled: dialled)
        let load: @Sendable () async throws -> PlanEntry? = {
            do {
                return .plan(try await bus.request(ResolveDialTarget(sipDomain: key.domain, dialled: key.dialled), timeout: .seconds(2)))
            } catch let error as WireError where error.code == .notFound || error.code == .invalidRequest {
                return PlanEntry.none
            }
        }
        let entry: PlanEntry?
        if let plans = self.plans { entry = try await plans.value(key, load: load) } else { entry = try await load() }
        guard case .plan(let plan) = entry else { return nil }
        return plan
    }

    /// Forgets every kept ring plan (identity announced a change).
    func forgetPlans() { self.plans?.removeAll() }

    /// How long a door station rings when a resident or staff member calls it.
    static let stationRingSeconds = 30

    enum StationCall {
        /// Not a door station of the caller's site.
        case none
        /// A door station the caller may not call.
        case refused
        case station(SIPAccount, DoorInfo)
    }

    /// Whether `dialled` names a door station of the caller's site, and whether the caller may call
    /// it: a person's device (not another station) whose holder may open that door on their own
    /// authority (``DoorAuthority``: residents of its building, staff of the place, administrators).
    func station(dialled: String, domain: String, caller: SIPAccount) async -> StationCall {
        guard let station = try? await self.accounts.account(realm: domain.lowercased(), username: dialled), station.kind == .doorStation,
            station.tenantId == caller.tenantId, station.siteId == caller.siteId, let doorId = station.doorId
        else { return .none }
        guard caller.kind != .doorStation, let person = caller.personId else { return .refused }
        // The holder and the door, asked at once.
        async let holder = try? self.bus.request(PersonLookup(personId: person), tenant: caller.tenantId, timeout: .seconds(2))
        async let lookup = try? self.bus.request(DoorLookup(doorId: doorId), tenant: caller.tenantId, timeout: .seconds(2))
        guard let holder = await holder, let door = await lookup, DoorAuthority.decide(person: holder, door: door).grants else { return .refused }
        return .station(station, door)
    }

    /// Announces the call and rings its first step.
    func start(_ call: Call, account: SIPAccount, dialled: String) async {
        self.calls.withLock { $0[call.key] = call }
        self.emit(
            CallStarted(callId: call.id, callerDeviceId: account.deviceId, dialled: String(dialled.prefix(32))),
            tenant: call.tenant,
            context: call.context
        )
        await self.ring(call, from: 0)
    }

    /// A call to a number the caller's site does not have: started and ended at once, in the
    /// caller's tenant (another tenant's numbers are never named).
    func notFound(dialled: String, account: SIPAccount) {
        let id = UUID()
        let context = EventContext(site: account.siteId, door: account.doorId, call: id)
        self.emit(
            CallStarted(callId: id, callerDeviceId: account.deviceId, dialled: String(dialled.prefix(32))),
            tenant: account.tenantId,
            context: context
        )
        self.emit(CallEnded(callId: id, reason: .notFound, status: 404, durationSeconds: nil), tenant: account.tenantId, context: context)
    }

    /// Rings the first step from `index` on that reaches at least one registered device; answers
    /// the caller when none is left.
    func ring(_ call: Call, from index: Int, reason: CallFallbackReason = .noAnswer) async {
        if index > 0, index < call.steps.count {
            self.emit(
                CallFallback(callId: call.id, fromStep: index - 1, toStep: index, reason: reason),
                tenant: call.tenant,
                context: call.context
            )
        }
        var step = index
        while step < call.steps.count {
            guard call.rings(step) else {
                step += 1
                if step < call.steps.count {
                    self.emit(
                        CallFallback(callId: call.id, fromStep: step - 1, toStep: step, reason: .outsideHours),
                        tenant: call.tenant,
                        context: call.context
                    )
                }
                continue
            }
            let ringStep = call.steps[step]
            var forks: [Call.Branch] = []
            for target in ringStep.targets {
                if let device = target.deviceId {
                    let bindings = (try? await self.store.bindings(tenant: call.tenant, device: device, logger: self.logger)) ?? []
                    for binding in bindings {
                        guard let fork = self.fork(call.invite, to: binding, from: call.caller.transport) else { continue }
                        forks.append(Call.Branch(request: fork.0, peer: fork.1, via: fork.2, deviceId: device, personId: target.personId))
                    }
                } else if let number = target.number, ringStep.kind == .external,
                    let fork = await self.forkToTrunk(call.invite, number: number, from: call.caller.transport)
                {
                    forks.append(fork)
                }
            }
            if !forks.isEmpty {
                let deadline = ContinuousClock.now + .seconds(ringStep.ringSeconds)
                let proceed = call.state.withLock { state -> Bool in
                    guard !state.finished, !state.answered else { return false }
                    state.step = step
                    for fork in forks { state.branches[fork.via.branch ?? ""] = fork }
                    return true
                }
                guard proceed else {
                    self.releaseTrunk(forks.filter(\.holdsTrunk).count)
                    return
                }
                self.branches.withLock { table in for fork in forks { table[fork.via.branch ?? ""] = call } }
                self.emit(
                    CallRinging(callId: call.id, step: step, stepKind: ringStep.kind, devices: forks.count),
                    tenant: call.tenant,
                    context: call.context
                )
                for fork in forks { self.send(fork, of: call) }
                self.logger.debug("sip: ringing", metadata: ["gatehouse.step": "\(step)", "gatehouse.branches": "\(forks.count)"])
                Task { await self.expire(call, step: step, at: deadline) }
                return
            }
            step += 1
            if step < call.steps.count {
                self.emit(
                    CallFallback(callId: call.id, fromStep: step - 1, toStep: step, reason: .unreachable),
                    tenant: call.tenant,
                    context: call.context
                )
            }
        }
        self.finish(call, with: call.state.withLock { $0.best } ?? SIPResponse(status: 480, replyingTo: call.invite.headers, toTag: call.toTag))
    }

    /// Sends a branch's INVITE, and again over UDP until it hears anything.
    func send(_ branch: Call.Branch, of call: Call) {
        self.transport.send(.request(branch.request), to: branch.peer)
        if branch.peer.transport == .udp { self.retransmit(branch.request, to: branch.peer, branch: branch.via.branch ?? "", of: call) }
    }

    /// RFC 3261 §17.1.1.2 Timer A over UDP: the INVITE again after 0.5 s, 1 s, 2 s… until the
    /// branch hears anything (even 100), is cancelled, the call ends, or Timer B (32 s) runs out.
    func retransmit(_ request: SIPRequest, to peer: SIPPeer, branch: String, of call: Call) {
        let transport = self.transport
        Retransmission.start(
            while: {
                call.state.withLock { state in
                    state.branches[branch].map { $0.status == 0 && !$0.cancelled } ?? false && !state.finished && !state.answered
                }
            },
            send: { transport.send(.request(request), to: peer) }
        )
    }

    /// Branches of calls being set up, for tests and metrics.
    var activeBranches: Int { self.branches.withLock { $0.count } }

    /// The INVITE for one binding: new Request-URI, our Via and Record-Route, one hop fewer.
    func fork(_ invite: SIPRequest, to binding: Binding, from incoming: SIPTransportKind) -> (SIPRequest, SIPPeer, SIPVia)? {
        guard let contact = SIPURI(binding.contact), let transport = SIPTransportKind(rawValue: binding.transport),
            let peer = Self.peer(for: binding, contact: contact, transport: transport)
        else { return nil }
        return self.fork(invite, to: contact, via: peer, from: incoming)
    }

    /// The INVITE for `contact`, sent to `peer`, for a caller whose INVITE came over `incoming`.
    func fork(_ invite: SIPRequest, to contact: SIPURI, via peer: SIPPeer, from incoming: SIPTransportKind) -> (SIPRequest, SIPPeer, SIPVia) {
        var request = invite
        request.uri = contact
        let hops: Int
        if case .some(.some(let value)) = invite.headers.maxForwards { hops = value } else { hops = 70 }
        request.headers.replace(.maxForwards, "\(max(0, hops - 1))")
        // The caller's credentials were for us (RFC 3261 §22.3), and an identity it asserts is not
        // one we vouch for (RFC 3325 §5).
        request.headers.remove(.proxyAuthorization)
        request.headers.remove(Self.assertedIdentity)
        // Across transports two Record-Routes, the callee's side on top (RFC 5658 §3): each side
        // then reaches us over its own transport (a TLS phone's BYE stays on TLS).
        if incoming != peer.transport { request.headers.prepend(.recordRoute, self.recordRoute(incoming)) }
        request.headers.prepend(.recordRoute, self.recordRoute(peer.transport))
        let via = self.newVia(peer.transport)
        request.headers.prepend(.via, via.description)
        return (request, peer, via)
    }

    static let assertedIdentity: SIPHeaderName = "P-Asserted-Identity"

    // MARK: - The outbound trunk

    /// The INVITE for an external number through the carrier trunk (decision 0020):
    /// `sip:<number>@<trunk>;user=phone`, our caller id as `P-Asserted-Identity`. Nil when no trunk
    /// is configured, its name does not resolve, or ``SignalingConfiguration/Trunk/maxCalls``
    /// external branches already ring.
    func forkToTrunk(_ invite: SIPRequest, number: String, from incoming: SIPTransportKind) async -> Call.Branch? {
        guard let trunk, SignalingConfiguration.isE164(number) else { return nil }
        guard let address = await self.resolver.resolve(host: trunk.host, port: trunk.port, family: self.transport.bound?.udp?.protocol) else {
            self.logger.warning("sip: the trunk's host does not resolve", metadata: ["gatehouse.host": "\(trunk.host)"])
            return nil
        }
        let parameter = trunk.transport == .udp ? "" : ";transport=\(trunk.transport.rawValue.lowercased())"
        guard let uri = SIPURI("sip:\(number)@\(trunk.host):\(trunk.port);user=phone\(parameter)") else { return nil }
        let taken = self.trunkBranches.wrappingAdd(1, ordering: .relaxed).newValue
        guard taken <= trunk.maxCalls else {
            self.releaseTrunk(1)
            self.logger.warning(
                "sip: an external number was skipped: the trunk's call limit is reached",
                metadata: ["gatehouse.limit": "\(trunk.maxCalls)"]
            )
            return nil
        }
        let peer: SIPPeer
        if trunk.transport == .udp {
            peer = SIPPeer(transport: .udp, address: address)
        } else {
            do {
                let isName = (try? SocketAddress(ipAddress: trunk.host, port: trunk.port)) == nil
                guard trunk.transport == .tcp || self.trunkTLS != nil else { throw ChannelError.operationUnsupported }
                peer = try await self.transport.connection(
                    to: address,
                    transport: trunk.transport,
                    tls: self.trunkTLS,
                    serverHostname: isName ? trunk.host : nil
                )
            } catch {
                self.releaseTrunk(1)
                self.logger.warning("sip: no connection to the trunk", metadata: ["error": "\(error)"])
                return nil
            }
        }
        var fork = self.fork(invite, to: uri, via: peer, from: incoming)
        if let callerId = trunk.callerId { fork.0.headers.add(Self.assertedIdentity, "<sip:\(callerId)@\(trunk.host);user=phone>") }
        return Call.Branch(request: fork.0, peer: fork.1, via: fork.2, number: number, holdsTrunk: true)
    }

    func releaseTrunk(_ count: Int) {
        if count > 0 { self.trunkBranches.wrappingSubtract(count, ordering: .relaxed) }
    }

    /// External branches that are done (answered, failed, cancelled, or their call ended) give
    /// their place on the trunk back; call with the call's state locked.
    static func settleTrunk(_ state: inout Call.State) -> Int {
        var released = 0
        for (key, branch) in state.branches where branch.holdsTrunk {
            guard branch.status >= 200 || branch.cancelled || state.finished || state.answered else { continue }
            state.branches[key]?.holdsTrunk = false
            released += 1
        }
        return released
    }

    /// The trunk branch's INVITE again with credentials for the carrier's 401/407 challenge (RFC
    /// 3261 §22.2): a CSeq one higher and a new Via branch; nil without credentials, for a
    /// challenge we cannot answer, or when this branch already answered one.
    func answeringChallenge(_ response: SIPResponse, of branch: Call.Branch) -> Call.Branch? {
        guard branch.number != nil, !branch.authenticated, let trunk, let username = trunk.username, let password = trunk.password,
            let cseq = branch.request.headers.cseq
        else { return nil }
        let proxy = response.status == 407
        let challenges = response.headers.values(proxy ? .proxyAuthenticate : .wwwAuthenticate)
        let clientNonce = Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        let uri = branch.request.uri.description
        guard
            let credentials = challenges.lazy.compactMap({
                HTTPDigest.authorization(challenge: $0, username: username, password: password, method: "INVITE", uri: uri, clientNonce: clientNonce)
            }).first
        else { return nil }
        var request = branch.request
        request.headers.removeFirstValue(.via)
        let via = self.newVia(branch.peer.transport)
        request.headers.prepend(.via, via.description)
        guard cseq.number < UInt32.max else { return nil }
        request.headers.replace(.cseq, "\(cseq.number + 1) INVITE")
        request.headers.add(proxy ? .proxyAuthorization : .authorization, credentials)
        var next = branch
        next.request = request
        next.via = via
        next.status = 0
        next.authenticated = true
        next.cseqShift = branch.cseqShift + 1
        return next
    }

    /// Where to send to a binding: over a stream, the device's own connection; over UDP, its Contact
    /// when that is an address on the same host it registered from, otherwise the source address
    /// (the device is behind NAT).
    static func peer(for binding: Binding, contact: SIPURI, transport: SIPTransportKind) -> SIPPeer? {
        if transport == .udp, contact.host == binding.sourceIP,
            let address = try? SocketAddress(ipAddress: contact.host, port: contact.port ?? 5060)
        {
            return SIPPeer(transport: .udp, address: address)
        }
        guard let address = try? SocketAddress(ipAddress: binding.sourceIP, port: binding.sourcePort) else { return nil }
        return SIPPeer(transport: transport, address: address)
    }

    /// The step's ring time ran out: cancel its branches and ring the next step.
    func expire(_ call: Call, step: Int, at deadline: ContinuousClock.Instant) async {
        try? await Task.sleep(until: deadline)
        var released = 0
        let pending = call.state.withLock { state -> [Call.Branch]? in
            guard !state.finished, !state.answered, state.step == step else { return nil }
            let pending = state.branches.values.filter { $0.status < 200 && !$0.cancelled }
            // Kept, marked cancelled: their 487s still need our ACK.
            for key in state.branches.keys { state.branches[key]?.cancelled = true }
            released = Self.settleTrunk(&state)
            return Array(pending)
        }
        self.releaseTrunk(released)
        guard let pending else { return }
        for branch in pending { self.cancel(branch, reason: "SIP;cause=480;text=\"No answer\"") }
        await self.ring(call, from: step + 1)
    }

    /// CANCEL for one branch (RFC 3261 §9.1): same Request-URI, Via and CSeq number.
    func cancel(_ branch: Call.Branch, reason: String) {
        var headers = SIPHeaders()
        headers.add(.via, branch.via.description)
        for name in [SIPHeaderName.from, .to, .callID] { if let value = branch.request.headers[name] { headers.add(name, value) } }
        if let cseq = branch.request.headers.cseq { headers.add(.cseq, "\(cseq.number) CANCEL") }
        headers.add(.maxForwards, "70")
        headers.add(.reason, reason)
        let cancel = SIPRequest(method: .cancel, uri: branch.request.uri, headers: headers)
        let transport = self.transport
        let peer = branch.peer
        transport.send(.request(cancel), to: peer)
        // Until its answer arrives: resent over UDP (Timer E, up to T2 = 4 s apart, for 32 s),
        // and either way its answer is known as ours.
        guard let id = branch.via.branch else { return }
        let tracked = self.pendingCancels.withLock { pending in
            guard pending.count < Self.maxPendingCancels else { return false }
            return pending.insert(id).inserted
        }
        guard tracked else { return }
        Retransmission.start(
            cap: .seconds(4),
            while: { self.pendingCancels.withLock { $0.contains(id) } },
            send: { if peer.transport == .udp { transport.send(.request(cancel), to: peer) } },
            ended: { _ = self.pendingCancels.withLock { $0.remove(id) } }
        )
    }

    /// CANCELs of ours still waiting for their answer.
    var cancelsAwaitingAnswer: Int { self.pendingCancels.withLock { $0.count } }

    /// Answers the caller with a final response and forgets the call.
    func finish(_ call: Call, with response: SIPResponse) {
        let first = call.state.withLock { state -> Int? in
            guard !state.finished else { return nil }
            state.finished = true
            return Self.settleTrunk(&state)
        }
        guard let released = first else { return }
        self.releaseTrunk(released)
        var final = response
        if final.status >= 300 {
            // Our own final answer carries our To tag; a forwarded one keeps the device's.
            final = SIPResponse(status: response.status, reason: response.reason, replyingTo: call.invite.headers, toTag: call.toTag)
        }
        let transport = self.transport
        let caller = call.caller
        self.transactions.answer(call.key, with: final, reliable: caller.transport.isReliable) { [final] in
            transport.send(.response(final), to: caller)
        }
        self.calls.withLock { _ = $0.removeValue(forKey: call.key) }
        self.emit(
            CallEnded(callId: call.id, reason: final.status == 487 ? .cancelled : .unanswered, status: final.status, durationSeconds: nil),
            tenant: call.tenant,
            context: call.context
        )
        let ids = call.state.withLock { Array($0.branches.keys) }
        self.branches.withLock { table in for id in ids { table.removeValue(forKey: id) } }
    }

    // MARK: - CANCEL from the caller

    /// A CANCEL matching a call in progress: 200 for the CANCEL, CANCEL to every branch, 487 for the
    /// INVITE. Returns false when no call matches (481).
    func cancel(_ request: SIPRequest, from peer: SIPPeer) -> Bool {
        guard var key = ServerTransactions.key(request) else { return false }
        key.method = "INVITE"
        guard let call = self.calls.withLock({ $0[key] }) else { return false }
        self.transport.send(.response(SIPResponse(status: 200, replyingTo: request.headers, toTag: call.toTag)), to: peer)
        let pending = call.state.withLock { state -> [Call.Branch] in
            guard !state.answered else { return [] }
            return state.branches.values.filter { $0.status < 200 }
        }
        for branch in pending { self.cancel(branch, reason: "SIP;cause=487;text=\"Caller cancelled\"") }
        self.finish(call, with: SIPResponse(status: 487, replyingTo: call.invite.headers, toTag: call.toTag))
        return true
    }

    // MARK: - Responses

    /// A response whose top Via is ours: to a branch of a call, or (stateless) to a request we
    /// forwarded inside a dialog.
    func response(_ response: SIPResponse, from peer: SIPPeer) {
        guard let via = response.headers.topVia, let branch = via.branch, via.host == self.host.lowercased() else { return }
        var upstream = response
        upstream.headers.removeFirstValue(.via)
        let cseqMethod = response.headers.cseq?.method
        // The answer to one of our own CANCELs ends here.
        if cseqMethod == .cancel, self.pendingCancels.withLock({ $0.remove(branch) != nil }) || self.branches.withLock({ $0[branch] != nil }) {
            return
        }
        guard let call = self.branches.withLock({ $0[branch] }) else {
            self.forwardStateless(self.shiftedBack(upstream))
            return
        }
        let status = response.status
        guard cseqMethod == .invite else { return }
        enum Action {
            case forward, forwardAndCancelOthers([Call.Branch], winner: Call.Branch, step: Int), ackAndMaybeFinish(Call.Branch, done: Bool), none
            case authenticate(Call.Branch, next: Call.Branch)
        }
        // A branch that answered the carrier's challenge sent a higher CSeq than the caller's.
        if let shift = call.state.withLock({ $0.branches[branch]?.cseqShift }), shift != 0 { Self.shiftCSeq(&upstream.headers, by: -shift) }
        var released = 0
        let action = call.state.withLock { state -> Action in
            defer { released = Self.settleTrunk(&state) }
            guard var entry = state.branches[branch] else {
                // A late 2xx from a cancelled branch still goes up: the caller ACKs and hangs up.
                return (200..<300).contains(status) ? .forward : .none
            }
            entry.status = max(entry.status, status)
            state.branches[branch] = entry
            // The carrier asks for credentials: the branch is replaced by one that has them.
            if status == 401 || status == 407, !entry.cancelled, !state.answered, !state.finished,
                let next = self.answeringChallenge(response, of: entry)
            {
                state.branches[branch]?.cancelled = true
                state.branches[branch]?.holdsTrunk = false
                state.branches[next.via.branch ?? ""] = next
                return .authenticate(entry, next: next)
            }
            switch status {
            case 100:
                return .none
            case 101..<200:
                return state.answered || state.finished ? .none : .forward
            case 200..<300:
                let first = !state.answered
                state.answered = true
                let others = state.branches.filter { $0.key != branch && $0.value.status < 200 && !$0.value.cancelled }.map(\.value)
                for key in state.branches.keys where key != branch { state.branches[key]?.cancelled = true }
                return first ? .forwardAndCancelOthers(others, winner: entry, step: state.step) : .forward
            default:
                // The 487 of a branch we cancelled is no answer to give the caller.
                if !entry.cancelled, state.best.map({ Self.rank(status) < Self.rank($0.status) }) ?? true { state.best = response }
                let done = state.branches.values.allSatisfy { $0.status >= 200 || $0.cancelled }
                // Only a real failure moves on; the 487 of a branch we cancelled ends nothing.
                return .ackAndMaybeFinish(entry, done: done && !state.answered && !entry.cancelled)
            }
        }
        self.releaseTrunk(released)
        switch action {
        case .none:
            return
        case .authenticate(let challenged, let next):
            self.ackNon2xx(response, branch: challenged)
            self.branches.withLock { $0[next.via.branch ?? ""] = call }
            self.send(next, of: call)
        case .forward:
            self.transport.send(.response(upstream), to: call.caller)
        case .forwardAndCancelOthers(let others, let winner, let step):
            self.transport.send(.response(upstream), to: call.caller)
            if let device = winner.deviceId {
                var context = call.context
                context.personid = winner.personId
                self.emit(
                    CallAnswered(callId: call.id, deviceId: device, personId: winner.personId, step: step),
                    tenant: call.tenant,
                    context: context
                )
            } else if let number = winner.number {
                self.emit(CallAnsweredExternally(callId: call.id, number: number, step: step), tenant: call.tenant, context: call.context)
            }
            if let sipCallID = call.invite.headers.callID {
                self.dialogs.withLock { dialogs in
                    if dialogs.count >= Self.maxDialogs, let oldest = dialogs.min(by: { $0.value.answeredAt < $1.value.answeredAt })?.key {
                        dialogs.removeValue(forKey: oldest)
                    }
                    let presser: (device: UUID?, person: UUID?, ip: String) =
                        switch call.keyPresser {
                        case .callee: (winner.deviceId, winner.personId, peer.ip)
                        case .caller(let device, let person): (device, person, call.caller.ip)
                        }
                    dialogs[sipCallID] = Dialog(
                        call: call.id,
                        tenant: call.tenant,
                        context: call.context,
                        answeredAt: .now,
                        callerTag: call.invite.headers.from?.tag,
                        keyPresser: call.keyPresser,
                        deviceId: presser.device,
                        personId: presser.person,
                        presserIP: presser.ip,
                        cseqShift: winner.cseqShift
                    )
                }
            }
            for other in others { self.cancel(other, reason: "SIP;cause=200;text=\"Call completed elsewhere\"") }
            self.transactions.complete(call.key, response: upstream, reliable: true)
            call.state.withLock { $0.finished = true }
            self.calls.withLock { _ = $0.removeValue(forKey: call.key) }
            // Keep the branches 32 s (64·T1) for retransmitted 2xx, then forget them.
            let ids = call.state.withLock { Array($0.branches.keys) }
            Task {
                try? await Task.sleep(for: .seconds(32))
                self.branches.withLock { table in for id in ids { table.removeValue(forKey: id) } }
            }
        case .ackAndMaybeFinish(let entry, let done):
            self.ackNon2xx(response, branch: entry)
            if done {
                let next = call.state.withLock { state -> Int? in
                    guard !state.finished else { return nil }
                    // Each branch is answered once: mark them so the next step starts clean.
                    for key in state.branches.keys { state.branches[key]?.cancelled = true }
                    return state.step + 1
                }
                // Busy or declined everywhere: ring the next step, or give the best answer.
                if let next { Task { await self.ring(call, from: next, reason: .busy) } }
            }
        }
    }

    /// RFC 3261 §16.7 step 6: 6xx beats everything, then the lowest class, 486/600 over 408/480.
    static func rank(_ status: Int) -> Int {
        switch status {
        case 600..<700: 0
        case 486: 1
        case 300..<400: 2
        case 400..<500: 3
        default: 4
        }
    }

    /// The hop-by-hop ACK a client transaction sends for a non-2xx final (RFC 3261 §17.1.1.3).
    func ackNon2xx(_ response: SIPResponse, branch: Call.Branch) {
        var headers = SIPHeaders()
        headers.add(.via, branch.via.description)
        for name in [SIPHeaderName.from, .callID] { if let value = branch.request.headers[name] { headers.add(name, value) } }
        if let to = response.headers[.to] { headers.add(.to, to) }
        if let cseq = branch.request.headers.cseq { headers.add(.cseq, "\(cseq.number) ACK") }
        headers.add(.maxForwards, "70")
        self.transport.send(.request(SIPRequest(method: .ack, uri: branch.request.uri, headers: headers)), to: branch.peer)
    }

    // MARK: - Inside a dialog

    /// A request inside a dialog (ACK for a 2xx, BYE, INFO, re-INVITE…) whose first Route is ours:
    /// pop it and forward statelessly (RFC 3261 §16.4, §16.11). Returns the status to answer when it
    /// cannot be forwarded.
    func forwardInDialog(_ request: SIPRequest, from peer: SIPPeer) async -> Int? {
        var forwarded = request
        // Our own Routes, one or two (RFC 5658: one per side of a call across transports).
        while let first = forwarded.headers.values(.route).first.flatMap(SIPAddress.init), self.isOurs(first.uri) {
            forwarded.headers.removeFirstValue(.route)
        }
        let target = forwarded.headers.values(.route).first.flatMap(SIPAddress.init)?.uri ?? forwarded.uri
        guard target.isSIP else { return 416 }
        if case .some(.some(let hops)) = request.headers.maxForwards {
            guard hops > 0 else { return 483 }
            forwarded.headers.replace(.maxForwards, "\(hops - 1)")
        }
        let destination: SIPPeer
        if let binding = try? await self.store.binding(contact: target.description, logger: self.logger),
            let transport = SIPTransportKind(rawValue: binding.transport), let peer = Self.peer(for: binding, contact: target, transport: transport)
        {
            // A registered device: reach it the way its registration came (NAT, its connection).
            destination = peer
        } else {
            let transport = SIPTransportKind(rawValue: (target.parameters["transport"] ?? nil)?.uppercased() ?? "UDP") ?? .udp
            let family = transport == .udp ? self.transport.bound?.udp?.protocol : nil
            guard let address = await self.resolver.resolve(host: target.host, port: target.port ?? (transport == .tls ? 5061 : 5060), family: family)
            else {
                return 404  // a name that does not resolve
            }
            destination = SIPPeer(transport: transport, address: address)
        }
        if let sipCallID = request.headers.callID, let dialog = self.dialogs.withLock({ $0[sipCallID] }), dialog.cseqShift != 0,
            request.headers.from?.tag == dialog.callerTag
        {
            // The caller's requests continue the CSeq space of the challenged INVITE it never saw.
            Self.shiftCSeq(&forwarded.headers, by: dialog.cseqShift)
        }
        if request.method == .bye, let sipCallID = request.headers.callID, let dialog = self.endDialog(sipCallID) {
            let talk = ContinuousClock.now - dialog.answeredAt
            let seconds = Double(talk.components.seconds) + Double(talk.components.attoseconds) / 1e18
            self.emit(
                CallEnded(callId: dialog.call, reason: .completed, status: nil, durationSeconds: (seconds * 1000).rounded() / 1000),
                tenant: dialog.tenant,
                context: dialog.context
            )
        }
        if request.method == .info || request.method == .message, let sipCallID = request.headers.callID {
            self.doorOpenKey(request, callID: sipCallID, from: peer)
        }
        Self.stampReceived(&forwarded, from: peer)
        // A branch derived from the incoming one, so retransmissions map to the same branch.
        let incoming = request.headers.topVia?.branch ?? UUID().uuidString
        var via = self.newVia(destination.transport)
        via.parameters.set("branch", "z9hG4bK-ghs-" + Hex.encode(SHA256.hash(data: Array(incoming.utf8)).prefix(10)))
        forwarded.headers.prepend(.via, via.description)
        self.transport.send(.request(forwarded), to: destination)
        return nil
    }

    /// Ends an answered call's dialog at its BYE: the dialog once, nil when it already ended. One
    /// with a CSeq shift stays 32 s longer, for the BYE's answer and retransmissions.
    func endDialog(_ callID: String) -> Dialog? {
        let ended = self.dialogs.withLock { dialogs -> Dialog? in
            guard var dialog = dialogs[callID], !dialog.ended else { return nil }
            if dialog.cseqShift == 0 {
                dialogs.removeValue(forKey: callID)
            } else {
                dialog.ended = true
                dialogs[callID] = dialog
            }
            return dialog
        }
        if let ended, ended.cseqShift != 0 {
            Task {
                try? await Task.sleep(for: .seconds(32))
                self.dialogs.withLock { dialogs in
                    if dialogs[callID]?.ended == true { dialogs.removeValue(forKey: callID) }
                }
            }
        }
        return ended
    }

    /// A response to a request the caller sent inside a dialog whose CSeq we shifted: the caller's
    /// number again.
    func shiftedBack(_ response: SIPResponse) -> SIPResponse {
        guard let callID = response.headers.callID, let dialog = self.dialogs.withLock({ $0[callID] }), dialog.cseqShift != 0,
            response.headers.from?.tag == dialog.callerTag
        else { return response }
        var response = response
        Self.shiftCSeq(&response.headers, by: -dialog.cseqShift)
        return response
    }

    /// The CSeq number moved by `shift` (within the 32-bit range RFC 3261 §8.1.1.5 allows).
    static func shiftCSeq(_ headers: inout SIPHeaders, by shift: Int) {
        guard let cseq = headers.cseq else { return }
        let number = Int(cseq.number) + shift
        guard number >= 0, number <= Int(UInt32.max) else { return }
        headers.replace(.cseq, "\(number) \(cseq.method)")
    }

    /// The key a SIP INFO carries: `Signal=#` in `application/dtmf-relay`, the bare key in
    /// `application/dtmf`; `nil` for any other body.
    static func pressedKey(_ request: SIPRequest) -> String? {
        guard request.body.count <= 1024, let type = request.headers[.contentType]?.split(separator: ";").first else { return nil }
        let body = String(decoding: request.body, as: UTF8.self)
        switch type.trimmingCharacters(in: .whitespaces).lowercased() {
        case "application/dtmf-relay":
            for line in body.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "signal" {
                    return parts[1].trimmingCharacters(in: .whitespaces).uppercased()
                }
            }
            return nil
        case "application/dtmf":
            let key = body.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
            return key.isEmpty ? nil : key
        default:
            return nil
        }
    }

    static let action: SIPHeaderName = "Action"

    /// Whether an INFO or MESSAGE inside a call asks to open the door: a key of `keys` (``pressedKey``,
    /// INFO only), or `Action: buzz`, as a header or as a line of a `text/plain` body, the form
    /// some stations' and apps' door-open buttons send.
    static func asksToOpen(_ request: SIPRequest, keys: Set<String>) -> Bool {
        if request.method == .info, let key = self.pressedKey(request), keys.contains(key) { return true }
        func isBuzz(_ value: some StringProtocol) -> Bool { value.trimmingCharacters(in: .whitespaces).lowercased() == "buzz" }
        if let action = request.headers[Self.action], isBuzz(action) { return true }
        guard request.body.count <= 1024, let type = request.headers[.contentType]?.split(separator: ";").first,
            type.trimmingCharacters(in: .whitespaces).lowercased() == "text/plain"
        else { return false }
        return String(decoding: request.body, as: UTF8.self).split(whereSeparator: \.isNewline).contains { line in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 && parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "action" && isBuzz(parts[1])
        }
    }

    /// A door-open key pressed by the resident or staff member of a door station's call (who
    /// answered it, or who called the station): ask access control to open that door on their
    /// authority. Only their device's address counts, and only requests of their side of the
    /// dialog; the INFO itself is forwarded either way, so a station that reacts to it still can.
    func doorOpenKey(_ request: SIPRequest, callID: String, from peer: SIPPeer) {
        guard Self.asksToOpen(request, keys: self.doorOpenKeys) else { return }
        let now = ContinuousClock.now
        let dialog = self.dialogs.withLock { dialogs -> Dialog? in
            guard var dialog = dialogs[callID], dialog.presserIP == peer.ip, let callerTag = dialog.callerTag,
                dialog.context.doorid != nil, dialog.personId != nil
            else { return nil }
            // The request comes from the side that may press the key.
            switch dialog.keyPresser {
            case .callee: guard request.headers.to?.tag == callerTag else { return nil }
            case .caller: guard request.headers.from?.tag == callerTag else { return nil }
            }
            if let last = dialog.unlockedAt, now - last < Self.unlockInterval { return nil }
            dialog.unlockedAt = now
            dialogs[callID] = dialog
            return dialog
        }
        guard let dialog, let door = dialog.context.doorid, let person = dialog.personId else { return }
        let bus = self.bus
        let logger = self.logger
        Task {
            do {
                let result = try await bus.request(
                    UnlockDoor(doorId: door, personId: person, channel: .call, callId: dialog.call, deviceId: dialog.deviceId),
                    tenant: dialog.tenant,
                    timeout: .seconds(10)
                )
                logger.info(
                    "sip: door-open key pressed",
                    metadata: [
                        "gatehouse.call": "\(dialog.call.lowercasedString)", "gatehouse.door": "\(door.lowercasedString)",
                        "gatehouse.reason": "\(result.reason.rawValue)",
                        "gatehouse.opened": "\(result.opened)",
                    ]
                )
            } catch {
                logger.warning(
                    "sip: the door-open request failed",
                    metadata: ["gatehouse.call": "\(dialog.call.lowercasedString)", "error": "\(error)"]
                )
            }
        }
    }

    /// Sends a response on to the next Via (its `received`/`rport` when present).
    func forwardStateless(_ response: SIPResponse) {
        guard let via = response.headers.topVia, let transport = SIPTransportKind(rawValue: via.transport) else { return }
        let host = (via.parameters["received"] ?? nil) ?? via.host
        let port = (via.parameters["rport"] ?? nil).flatMap(Int.init) ?? via.port ?? 5060
        guard let address = try? SocketAddress(ipAddress: host, port: port) else { return }
        self.transport.send(.response(response), to: SIPPeer(transport: transport, address: address))
    }
}
