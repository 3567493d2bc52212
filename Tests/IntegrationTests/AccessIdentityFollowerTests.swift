import AccessService
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

/// Access does its part when identity erases a person or deletes a door or site: the events come
/// from identity's NATS user through JetStream, the follower's durable consumer applies them to
/// access's tables on real PostgreSQL, and access announces what it revoked, once even when an event
/// is delivered twice.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_URL"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct AccessIdentityFollowerTests {
    let logger = Logger(label: "test")

    @Test func erasuresAndDeletionsReachAccessThroughJetStream() async throws {
        try await withNATSClient(try TestEnvironment.natsURL, as: .access) { accessNATS in
            try await withNATSClient(try TestEnvironment.natsURL, as: .identity) { identityNATS in
                try await accessNATS.jetStream.ensureStream(EventStream.configuration())
                try await withTestPostgres { postgres in
                    try await MigrationRunner(schema: AccessService.schema, migrations: AccessService.migrations).run(
                        on: postgres,
                        logger: self.logger
                    )
                    try await self.run(postgres: postgres, access: accessNATS, identity: identityNATS)
                }
            }
        }
    }

    func run(postgres: PostgresClient, access: NATSClient, identity: NATSClient) async throws {
        let parts = AccessService.Parts(
            postgres: postgres,
            bus: MessageBus(transport: NATSTransport(client: access), source: EventSource(service: .access, instance: "follower-test")),
            secretKey: Array(repeating: 7, count: 32),
            commandDeadline: .seconds(2),
            instance: "follower-test"
        )
        // The door HTTP client runs (and shuts down) with the test, whatever it throws.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await parts.http.run() }
            defer { group.cancelAll() }
            try await self.scenario(parts, postgres: postgres, access: access, identity: identity)
        }
    }

    func scenario(_ parts: AccessService.Parts, postgres: PostgresClient, access: NATSClient, identity: NATSClient) async throws {
        let identityBus = MessageBus(transport: NATSTransport(client: identity), source: EventSource(service: .identity, instance: "test"))
        let tenant = TenantID(UUID())
        let (site, lobby, garage) = (UUID(), UUID(), UUID())
        let (ada, bob) = (UUID(), UUID())

        // Ada: a labelled card, a PIN, consent to face entry with its evidence, a one-door pass she
        // hosts, membership of a group. Bob: a PIN and a pass for both doors.
        let credentials = parts.credentials
        let card = try await credentials.issue(
            tenant: tenant,
            .init(personId: ada, kind: .card, value: "uid:04a23b1c", label: "Ada's fob"),
            logger: self.logger
        ).0
        let adaPIN = try await credentials.issue(tenant: tenant, .init(personId: ada, kind: .pin, siteId: site), logger: self.logger).0
        let bobPIN = try await credentials.issue(tenant: tenant, .init(personId: bob, kind: .pin, siteId: site), logger: self.logger).0
        try await credentials.setConsent(tenant: tenant, person: ada, given: true, evidence: "signed form 2026-11", by: ada, logger: self.logger)
        func pass(_ host: UUID, _ doors: [UUID], _ label: String) async throws -> UUID {
            let input = PassInput(
                siteId: site,
                hostPersonId: host,
                kind: "guest",
                label: label,
                doorIds: doors,
                validFrom: Date(),
                validUntil: Date().addingTimeInterval(3600),
                maxUses: nil,
                schedule: nil
            )
            return try await parts.passes.create(tenant: tenant, input, pinDigits: 6, logger: self.logger).0.id
        }
        let adasGuest = try await pass(ada, [lobby], "Ada's mother")
        let bobsGuest = try await pass(bob, [lobby, garage], "Courier")
        let policies = parts.commander.policies
        let both = try #require(
            try await policies.put(
                tenant: tenant,
                AccessGroup(id: UUID(), siteId: site, name: "Both", doorIds: [lobby, garage], schedule: nil),
                creating: true,
                by: nil,
                logger: self.logger
            )
        )
        let lobbyOnly = try #require(
            try await policies.put(
                tenant: tenant,
                AccessGroup(id: UUID(), siteId: site, name: "Lobby", doorIds: [lobby], schedule: nil),
                creating: true,
                by: nil,
                logger: self.logger
            )
        )
        #expect(try await policies.setMember(tenant: tenant, site: site, group: both.id, person: ada, member: true, by: nil, logger: self.logger))
        _ = try await parts.controllers.put(
            tenant: tenant,
            DoorController(doorId: lobby, username: "admin", secret: "station-secret"),
            keepSecret: false,
            logger: self.logger
        )

        let consumer = "access-identity-test-\(UUID().uuidString.prefix(8))"
        let follower = IdentityFollower(
            nats: access,
            stream: EventStream.defaultName,
            cleanup: parts.cleanup,
            logger: self.logger,
            consumer: consumer,
            deliverPolicy: .new
        )
        let relay = OutboxRelay(client: postgres, schema: AccessService.schema, transport: NATSTransport(client: access), logger: self.logger)
        let announced = try await access.subscribe(to: Subjects.events(of: tenant))
        let received = Received()
        @Sendable func seen() -> [String] { received.withLock { $0.map { String($0.subject.split(separator: ".").last!) } } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await follower.run() }
            group.addTask { try await relay.run() }
            group.addTask { for await message in announced { received.withLock { $0.append(message) } } }
            defer { group.cancelAll() }
            #expect(
                try await eventually { try await access.jetStream.consumerInfo(stream: EventStream.defaultName, consumer: consumer).pending == 0 }
            )

            // The erasure, delivered twice (a redelivery or a replay), applies once.
            let erased = PersonErased(personId: ada, erasedAt: Date())
            try await identityBus.publish(erased, tenant: tenant, context: EventContext(person: ada))
            try await identityBus.publish(erased, tenant: tenant, context: EventContext(person: ada))
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    let info = try await access.jetStream.consumerInfo(stream: EventStream.defaultName, consumer: consumer)
                    let held = try await credentials.list(tenant: tenant, person: ada, logger: self.logger)
                    return info.pending == 0 && info.ackPending == 0 && held.allSatisfy { $0.revokedAt != nil }
                }
            )
            let adas = try await credentials.list(tenant: tenant, person: ada, logger: self.logger)
            #expect(Set(adas.map(\.id)) == [card.id, adaPIN.id] && adas.allSatisfy { $0.label == nil })
            let consent = try #require(try await credentials.consent(tenant: tenant, person: ada, logger: self.logger))
            #expect(consent.withdrawnAt != nil && consent.evidence == nil)
            let hosted = try #require(try await parts.passes.get(tenant: tenant, id: adasGuest, logger: self.logger))
            #expect(hosted.revokedAt != nil && hosted.label == nil)
            #expect(try await policies.members(tenant: tenant, group: both.id, logger: self.logger).isEmpty)
            #expect(try await parts.passes.get(tenant: tenant, id: bobsGuest, logger: self.logger)?.revokedAt == nil)

            // The lobby goes: its controller with the station's secret, and it leaves passes and groups.
            try await identityBus.publish(
                DoorDeleted(DoorDocument(id: lobby, siteId: site, buildingId: nil, name: "Lobby", kind: "door", version: 1)),
                tenant: tenant
            )
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    try await parts.controllers.get(tenant: tenant, door: lobby, logger: self.logger) == nil
                }
            )
            #expect(try await parts.passes.get(tenant: tenant, id: bobsGuest, logger: self.logger)?.doorIds == [garage])
            #expect(try await policies.group(tenant: tenant, site: site, id: both.id, logger: self.logger)?.doorIds == [garage])
            #expect(try await policies.group(tenant: tenant, site: site, id: lobbyOnly.id, logger: self.logger) == nil)

            // The site goes: its passes and PINs are revoked, its groups deleted.
            try await identityBus.publish(
                SiteDeleted(SiteDocument(id: site, name: "S", timeZone: "UTC", sipDomain: "s.example.org", version: 1)),
                tenant: tenant
            )
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    try await parts.passes.get(tenant: tenant, id: bobsGuest, logger: self.logger)?.revokedAt != nil
                }
            )
            #expect(try await credentials.get(tenant: tenant, id: bobPIN.id, logger: self.logger)?.revokedAt != nil)
            #expect(try await policies.groups(tenant: tenant, site: site, logger: self.logger).isEmpty)

            // Announced like the same changes through the API, each once.
            #expect(
                try await eventually(timeout: .seconds(20)) {
                    let names = seen()
                    return names.filter { $0 == "pass_revoked" }.count == 2 && names.filter { $0 == "credential_revoked" }.count == 3
                }
            )
            // Only the follower's own announcements are counted: what setting up announced may
            // have been published by another test's outbox relay before this test subscribed.
            let messages = received.withLock { $0 }
            func decoded<E: GatehouseEventData>(_ type: E.Type) -> [E] {
                messages.filter { $0.subject.hasSuffix(".\(E.eventType.domain).\(E.eventType.name)") }
                    .compactMap { try? WireCoding.decode(CloudEvent<E>.self, from: Data($0.payload)).data }
            }
            #expect(decoded(ConsentChanged.self).filter { !$0.consent }.count == 1)
            #expect(decoded(CredentialRevoked.self).count == 3)
            let policy = decoded(PolicyChanged.self).map { "\($0.object) \($0.action)" }
            for change in ["membership deleted", "group updated", "group deleted"] {
                #expect(policy.filter { $0 == change }.count == 1, "\(change): \(policy)")
            }
        }
        try await access.jetStream.deleteConsumer(stream: EventStream.defaultName, consumer: consumer)
    }
}
