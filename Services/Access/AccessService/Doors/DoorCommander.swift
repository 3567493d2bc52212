package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// Decides unlock requests and carries out the granted ones: the decision and the command's
/// outcome are events (JetStream, through the outbox) that the audit log keeps.
package struct DoorCommander: Sendable {
    package let bus: MessageBus
    let client: PostgresClient
    let controllers: DoorControllerStore
    let http: DoorHTTPClient
    let outbox: OutboxWriter
    let defaultDeadline: Duration
    package let policies: PolicyStore
    package var settings: SiteSettingsStore { self.policies.settings }

    package init(
        bus: MessageBus,
        client: PostgresClient,
        controllers: DoorControllerStore,
        http: DoorHTTPClient,
        outbox: OutboxWriter,
        policies: PolicyStore,
        defaultDeadline: Duration
    ) {
        self.policies = policies
        self.bus = bus
        self.client = client
        self.controllers = controllers
        self.http = http
        self.outbox = outbox
        self.defaultDeadline = defaultDeadline
    }

    /// Who asks: a person (checked against the door), or an administrator of the tenant.
    package enum Requester: Sendable {
        case person(UUID)
        case administrator
    }

    /// Doors as identity last described them, for ``doorLifetime``.
    let doors = ExpiringCache<DoorKey, DoorInfo>(lifetime: Self.doorLifetime)
    struct DoorKey: Hashable, Sendable {
        var tenant: TenantID
        var door: UUID
    }
    /// How long a door's description from identity is used before it is asked again: a new station,
    /// control URL or vendor applies within this (docs/operations.md).
    package static let doorLifetime = Duration.seconds(5)

    /// The door, from identity (cached for ``doorLifetime``); `nil` when the tenant has no such door.
    package func door(tenant: TenantID, id: UUID) async throws -> DoorInfo? {
        try await self.doors.value(DoorKey(tenant: tenant, door: id)) {
            do {
                return try await self.bus.request(DoorLookup(doorId: id), tenant: tenant)
            } catch let error as WireError where error.code == .notFound {
                return nil
            }
        }
    }

    /// Sites as identity last described them (for ``doorLifetime``), keyed like doors.
    let sites = ExpiringCache<DoorKey, SiteInfo>(lifetime: Self.doorLifetime)

    /// The site, from identity (cached); `nil` when the tenant has no such site.
    package func site(tenant: TenantID, id: UUID) async throws -> SiteInfo? {
        try await self.sites.value(DoorKey(tenant: tenant, door: id)) {
            do {
                return try await self.bus.request(SiteLookup(siteId: id), tenant: tenant)
            } catch let error as WireError where error.code == .notFound {
                return nil
            }
        }
    }

    /// Decides, records the decision, and for a grant opens the door by its deadline. Throws
    /// `WireError.notFound` for a door the tenant does not have.
    package func unlock(
        tenant: TenantID,
        doorId: UUID,
        requester: Requester,
        channel: UnlockChannel,
        callId: UUID? = nil,
        notAfter: ContinuousClock.Instant? = nil,
        logger: Logger
    ) async throws -> UnlockResult {
        let started = ContinuousClock.now
        guard let door = try await self.door(tenant: tenant, id: doorId) else { throw WireError(code: .notFound, message: "no such door") }
        let person: UUID?
        let reason: AccessReason
        switch requester {
        case .administrator:
            person = nil
            reason = .administrator
        case .person(let id):
            person = id
            reason = try await self.decide(tenant: tenant, person: id, door: door, at: Date(), logger: logger)
        }
        let decision = Decision(door: door, reason: reason, channel: channel, person: person, call: callId, pass: nil)
        return try await self.carryOut(decision, tenant: tenant, started: started, notAfter: notAfter, logger: logger)
    }

    /// The decision for `person` at `door` at `instant`: their own authority (``DoorAuthority``)
    /// refined by the site's policy (``AccessPolicy``). `invalidCredential` for nobody of the tenant.
    package func decide(tenant: TenantID, person id: UUID, door: DoorInfo, at instant: Date, logger: Logger) async throws -> AccessReason {
        let authority: AccessReason
        do {
            let person = try await self.bus.request(PersonLookup(personId: id), tenant: tenant)
            authority = DoorAuthority.decide(person: person, door: door)
        } catch let error as WireError where error.code == .notFound {
            return .invalidCredential
        }
        return try await self.decide(tenant: tenant, authority: authority, person: id, door: door, at: instant, logger: logger)
    }

    /// `authority` refined by the site's policy; a person's group memberships are read only when a
    /// group could matter.
    package func decide(
        tenant: TenantID,
        authority: AccessReason,
        person: UUID?,
        door: DoorInfo,
        at instant: Date,
        logger: Logger
    ) async throws -> AccessReason {
        let site = try await self.policies.site(tenant: tenant, site: door.siteId, logger: logger)
        var memberships = Set<UUID>()
        if authority == .noAuthority, let person, site.hasGroups(for: door.id) {
            memberships = try await self.policies.memberships(tenant: tenant, site: door.siteId, person: person, logger: logger)
        }
        return AccessPolicy.decide(authority: authority, memberships: memberships, door: door, site: site, at: instant)
    }

    /// One decision about one door, and what it is about.
    package struct Decision: Sendable {
        package var door: DoorInfo
        package var reason: AccessReason
        package var channel: UnlockChannel
        package var person: UUID?
        package var call: UUID?
        package var pass: UUID?

        package init(door: DoorInfo, reason: AccessReason, channel: UnlockChannel, person: UUID?, call: UUID?, pass: UUID?) {
            self.door = door
            self.reason = reason
            self.channel = channel
            self.person = person
            self.call = call
            self.pass = pass
        }

        var context: EventContext {
            EventContext(
                site: self.door.siteId,
                building: self.door.buildingId,
                door: self.door.id,
                person: self.person,
                call: self.call,
                pass: self.pass,
                outcome: self.reason.grants ? "granted" : "denied",
                reason: self.reason.rawValue
            )
        }
    }

    /// Records `decision` (with `also`, events written in the same transaction) and, for a grant,
    /// opens the door by its deadline and records the outcome.
    package func carryOut(
        _ decision: Decision,
        tenant: TenantID,
        started: ContinuousClock.Instant,
        also: [BruteForceSuspected] = [],
        notAfter: ContinuousClock.Instant? = nil,
        logger: Logger
    ) async throws -> UnlockResult {
        let door = decision.door
        let reason = decision.reason
        let subject = "door/\(door.id.lowercasedString)"
        var rows = [
            try OutboxWriter.Row(
                self.outbox.event(
                    AccessDecisionMade(
                        doorId: door.id,
                        granted: reason.grants,
                        reason: reason,
                        channel: decision.channel,
                        personId: decision.person,
                        callId: decision.call,
                        passId: decision.pass
                    ),
                    tenant: tenant,
                    subject: subject,
                    context: decision.context
                )
            )
        ]
        for event in also {
            rows.append(
                try OutboxWriter.Row(
                    self.outbox.event(
                        event,
                        tenant: tenant,
                        subject: subject,
                        context: EventContext(site: door.siteId, building: door.buildingId, door: door.id, outcome: "blocked")
                    )
                )
            )
        }
        guard reason.grants else {
            // No other change to commit with: one statement, no transaction around it.
            try await self.insert(rows, logger: logger)
            logger.info(
                "access: denied",
                metadata: [
                    "gatehouse.door": "\(door.id.lowercasedString)", "gatehouse.reason": "\(reason.rawValue)",
                    "gatehouse.channel": "\(decision.channel.rawValue)",
                ]
            )
            return UnlockResult(granted: false, reason: reason)
        }

        let command = UUID()
        let controller = try await self.controllers.get(tenant: tenant, door: door.id, logger: logger)
        let station = door.stations.first { station in
            controller?.stationDeviceId.map { $0 == station.deviceId } ?? (station.controlURL != nil)
        }
        let adapter = station.flatMap { DoorAdapterKind(vendor: $0.vendor) }
        let relay = controller?.relay ?? 1
        var failure: DoorCommandError?
        if let station, let adapter, let url = station.controlURL {
            // The decision is recorded before the door is told (an unlock is never unrecorded).
            try await self.insert(rows, logger: logger)
            rows = []
            // The door's deadline, or the caller's when it gives up sooner (no late unlocks).
            let own = started + (controller?.deadlineMilliseconds.map { Duration.milliseconds($0) } ?? self.defaultDeadline)
            let deadline = notAfter.map { min($0, own) } ?? own
            let target = DoorTarget(
                adapter: adapter,
                baseURL: url,
                relay: relay,
                username: controller?.username,
                secret: controller?.secret,
                verifyTLS: controller?.verifyTLS ?? true
            )
            do {
                try await self.http.open(target, command: command, door: door.id, deadline: deadline)
            } catch {
                failure = error
            }
        } else {
            // Nothing to drive: the decision and the outcome go in one statement.
            failure = DoorCommandError(.notConfigured, "the door has no station whose HTTP API opens it")
        }
        var outcome = decision.context
        outcome.outcome = failure == nil ? "opened" : "failed"
        outcome.reason = failure?.failure.rawValue
        let elapsed = ContinuousClock.now - started
        let commandInfo = DoorCommandInfo(
            commandId: command,
            doorId: door.id,
            stationDeviceId: station?.deviceId,
            adapter: adapter?.rawValue,
            relay: relay,
            channel: decision.channel,
            personId: decision.person,
            callId: decision.call,
            elapsedMilliseconds: Int(elapsed.nanosecondsClamped / 1_000_000)
        )
        if let failure {
            rows.append(
                try OutboxWriter.Row(
                    self.outbox.event(
                        DoorCommandFailed(commandInfo, failure: failure.failure, httpStatus: failure.httpStatus),
                        tenant: tenant,
                        subject: subject,
                        context: outcome
                    )
                )
            )
        } else {
            rows.append(try OutboxWriter.Row(self.outbox.event(DoorUnlocked(commandInfo), tenant: tenant, subject: subject, context: outcome)))
        }
        try await self.insert(rows, logger: logger)
        let metadata: Logger.Metadata = ["gatehouse.door": "\(door.id.lowercasedString)", "gatehouse.command": "\(command.lowercasedString)"]
        if let failure {
            logger.warning("access: door command failed", metadata: metadata.merging(["gatehouse.reason": "\(failure)"]) { $1 })
        } else {
            logger.info("access: door opened", metadata: metadata)
        }
        return UnlockResult(granted: true, reason: reason, commandId: command, opened: failure == nil, failure: failure?.failure)
    }
}

extension DoorCommander {
    /// Writes outbox rows in one statement.
    func insert(_ rows: [OutboxWriter.Row], logger: Logger) async throws {
        try await self.client.withConnection { connection in try await self.outbox.insert(rows, on: connection, logger: logger) }
    }
}

/// `access.unlock_door`: signaling asks to open the door of a call for the resident who answered.
package struct UnlockDoorHandler: RequestHandler {
    let commander: DoorCommander

    package init(commander: DoorCommander) { self.commander = commander }

    package var method: RPCMethod { UnlockDoor.method }

    package func handle(_ request: UnlockDoor, context: MessageContext) async throws -> UnlockResult {
        let tenant = try context.requiredTenant()
        return try await self.commander.unlock(
            tenant: tenant,
            doorId: request.doorId,
            requester: .person(request.personId),
            channel: request.channel,
            callId: request.callId,
            notAfter: context.deadlineInstant,
            logger: context.logger
        )
    }
}
