import AuditService
import Configuration
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_URL", "GATEHOUSE_BIN_DIR"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct AuditTests {
    let logger = Logger(label: "test")

    func reset(_ schema: String, _ client: PostgresClient) async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: self.logger)
        try await MigrationRunner(schema: schema, migrations: AuditService.migrations).run(on: client, logger: self.logger)
    }

    func events(_ count: Int, tenant: TenantID, firstSequence: UInt64 = 1) throws -> [Classified] {
        try (0..<count).map { index in
            let event = CloudEvent(
                source: EventSource(service: .access, instance: "a-1"),
                time: Date(timeIntervalSince1970: 1_795_000_000 + Double(index)),
                subject: "door/\(index)",
                tenant: tenant,
                data: ServiceStarted(service: .access, version: "t", instance: "a-\(index)")
            )
            return EventClassifier().classify(
                natsSubject: event.natsSubject,
                payload: Array(try WireCoding.encode(event)),
                streamSequence: firstSequence + UInt64(index)
            )
        }
    }

    func execute(_ client: PostgresClient, _ sql: String) async throws {
        try await client.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
    }

    @Test func batchesChainPerTenantAndRedeliveryIsHarmless() async throws {
        try await withTestPostgres { client in
            let schema = "audit_chain_test"
            try await self.reset(schema, client)
            let writer = AuditWriter(client: client, schema: schema, keyring: .ephemeral())
            let a = TenantID(UUID())
            let b = TenantID(UUID())
            let first = try self.events(5, tenant: a) + self.events(3, tenant: b, firstSequence: 6)
            #expect(try await writer.write(first, logger: self.logger).recorded == 8)
            let again = try await writer.write(first, logger: self.logger)  // redelivered batch
            #expect(again.recorded == 0 && again.duplicates == 8)
            #expect(try await writer.write(try self.events(4, tenant: a, firstSequence: 9), logger: self.logger).recorded == 4)

            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema)
            let reportA = try await verifier.verify(tenant: a, logger: self.logger)
            #expect(reportA.isValid && reportA.checked == 9 && reportA.headSequence == 9)
            #expect(try await verifier.verify(tenant: b, logger: self.logger).headSequence == 3)
            #expect(try await verifier.verify(tenant: a, from: 5, logger: self.logger).checked == 5)
        }
    }

    /// Each tampering names the first bad sequence number.
    @Test(arguments: [
        ("edit a field", "UPDATE {s}.records SET source = 'gatehouse/evil/1' WHERE tenant_id = '{t}' AND seq = 4", Int64(4)),
        ("edit the raw event", "UPDATE {s}.records SET raw = convert_to('{}', 'UTF8') WHERE tenant_id = '{t}' AND seq = 6", 6),
        ("delete a row", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq = 5", 5),
        (
            "swap two rows",
            "UPDATE {s}.records SET seq = seq + 1000 WHERE tenant_id = '{t}' AND seq IN (3, 7); "
                + "UPDATE {s}.records SET seq = CASE seq WHEN 1003 THEN 7 WHEN 1007 THEN 3 END WHERE tenant_id = '{t}' AND seq > 1000",
            3
        ),
        ("truncate the tail", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq >= 9", 9),
        ("rewrite a row and its hash", "UPDATE {s}.records SET source = 'x', hash = sha256(hash) WHERE tenant_id = '{t}' AND seq = 2", 2),
    ])
    func tamperingIsFound(what: String, sql: String, firstBad: Int64) async throws {
        try await withTestPostgres { client in
            let schema = "audit_tamper_test"
            try await self.reset(schema, client)
            let tenant = TenantID(UUID())
            _ = try await AuditWriter(client: client, schema: schema, keyring: .ephemeral()).write(
                try self.events(10, tenant: tenant),
                logger: self.logger
            )
            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema)
            #expect(try await verifier.verify(tenant: tenant, logger: self.logger).isValid)
            for statement in sql.split(separator: ";") {
                try await self.execute(
                    client,
                    statement.replacingOccurrences(of: "{s}", with: schema).replacingOccurrences(of: "{t}", with: "\(tenant)")
                )
            }
            let report = try await verifier.verify(tenant: tenant, logger: self.logger)
            #expect(report.firstBadSequence == firstBad, "\(what): \(report.problem ?? "verified")")
        }
    }

    @Test func ingestFromJetStreamQuarantinesBadMessagesAndKeepsGoing() async throws {
        let natsURL = try TestEnvironment.natsURL
        try await withTestPostgres { postgres in
            let schema = "audit_ingest_test"
            try await self.reset(schema, postgres)
            let nats = NATSClient(configuration: NATSConfiguration(servers: [natsURL]), logger: self.logger)
            let config = ConfigReader(provider: InMemoryProvider(values: ["nats.servers": .init(.string(natsURL), isSecret: false)]))
            let resources = ServiceResources(
                configuration: try ServiceConfiguration(service: .audit, config: config),
                config: config,
                logger: self.logger,
                bus: MessageBus(transport: NATSTransport(client: nats), source: EventSource(service: .audit, instance: "test")),
                nats: nats,
                postgres: postgres
            )
            var ingestConfiguration = AuditIngestor.Configuration()
            ingestConfiguration.consumer = "audit-test-\(UUID().uuidString.prefix(8))"
            ingestConfiguration.batchSize = 50
            let tenant = TenantID(UUID())
            ingestConfiguration.filterSubject = Subjects.events(of: tenant)
            let ingestor = AuditIngestor(resources: resources, configuration: ingestConfiguration, schema: schema)
            let intruder = TenantID(UUID())

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await nats.run() }
                defer { group.cancelAll() }
                try await nats.jetStream.ensureStream(EventStream.configuration())
                let bus = resources.bus
                let subject = Subjects.event(ServiceStarted.eventType, tenant: tenant)
                for index in 0..<120 {
                    try await bus.publish(ServiceStarted(service: .access, version: "t", instance: "i-\(index)"), tenant: tenant)
                    switch index {
                    case 30: _ = try await nats.jetStream.publish(Array("{not json".utf8), to: subject)
                    case 60:
                        var forged = WireSamples.serviceStarted
                        forged.id = UUID()
                        forged.tenantid = intruder
                        _ = try await nats.jetStream.publish(Array(try WireCoding.encode(forged)), to: subject)
                    case 90:
                        _ = try await nats.jetStream.publish(Array(#"{"specversion":"1.0"}"#.utf8), to: subject + ".v9")
                    default: break
                    }
                }
                group.addTask { try await ingestor.run() }
                let counted = try await eventually(timeout: .seconds(30)) {
                    var records = 0
                    for try await n in try await postgres.query(
                        PostgresQuery(unsafeSQL: "SELECT count(*)::INT FROM \(schema).records WHERE tenant_id = '\(tenant)'"),
                        logger: self.logger
                    ).decode(Int.self) {
                        records = n
                    }
                    return records == 120
                }
                #expect(counted)
                var reasons: [String] = []
                for try await reason in try await postgres.query(
                    PostgresQuery(unsafeSQL: "SELECT reason FROM \(schema).quarantine WHERE nats_subject LIKE '%\(tenant)%' ORDER BY stream_seq"),
                    logger: self.logger
                ).decode(String.self) {
                    reasons.append(String(reason.prefix { $0 != ":" }))
                }
                #expect(reasons == ["malformed", "tenant_mismatch", "malformed"])
                let report = try await ChainVerifier(client: postgres, source: try .testDatabase(), schema: schema).verify(
                    tenant: tenant,
                    logger: self.logger
                )
                #expect(report.isValid && report.headSequence == 120)
            }
        }
    }

    @Test func cliVerifyNamesTheFirstBadRecord() async throws {
        try await withTestPostgres { client in
            try await MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations).run(on: client, logger: self.logger)
            let tenant = TenantID(UUID())
            _ = try await AuditWriter(client: client, keyring: .ephemeral()).write(try self.events(6, tenant: tenant), logger: self.logger)
            let ok = try await runGatehouse(["audit", "verify", "--tenant", "\(tenant)"])
            #expect(ok.status == 0)
            #expect(ok.output.contains("verified 6 records"))
            try await self.execute(client, "UPDATE audit.records SET event_type = 'x' WHERE tenant_id = '\(tenant)' AND seq = 3")
            let failed = try await runGatehouse(["audit", "verify", "--tenant", "\(tenant)"])
            #expect(failed.status == 1)
            #expect(failed.output.contains("FAILED at sequence 3"))
        }
    }

    @Test(arguments: [
        ("forge a Merkle root", "UPDATE {s}.checkpoints SET merkle_root = sha256(merkle_root) WHERE tenant_id = '{t}' AND seq = 20", Int64(20)),
        ("forge a signature", "UPDATE {s}.checkpoints SET signature = sha512(signature) WHERE tenant_id = '{t}' AND seq = 10", 10),
        ("move a checkpoint's head", "UPDATE {s}.checkpoints SET head_hash = sha256(head_hash) WHERE tenant_id = '{t}' AND seq = 25", 25),
    ])
    func signedCheckpointsVerifyAndForgeriesAreNamed(what: String, sql: String, firstBad: Int64) async throws {
        try await withTestPostgres { client in
            let schema = "audit_checkpoint_test"
            try await self.reset(schema, client)
            let tenant = TenantID(UUID())
            let store = CheckpointStore(client: client, schema: schema, signer: try CheckpointSigner())
            try await store.registerKey(logger: self.logger)
            let writer = AuditWriter(client: client, schema: schema, keyring: .ephemeral())
            var made: [Int64] = []
            for batch in 0..<5 {  // 25 records in batches of 5; a checkpoint every 10
                _ = try await writer.write(try self.events(5, tenant: tenant, firstSequence: UInt64(batch * 5 + 1)), logger: self.logger)
                made += try await store.createDue(minimumNewRecords: 10, logger: self.logger).map(\.sequence)
            }
            made += try await store.createDue(minimumNewRecords: 1, logger: self.logger).map(\.sequence)  // the timed one
            #expect(made == [10, 20, 25])
            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema)
            #expect(try await verifier.verify(tenant: tenant, logger: self.logger).isValid)
            try await self.execute(client, sql.replacingOccurrences(of: "{s}", with: schema).replacingOccurrences(of: "{t}", with: "\(tenant)"))
            let report = try await verifier.verify(tenant: tenant, logger: self.logger)
            #expect(report.firstBadSequence == firstBad, "\(what): \(report.problem ?? "verified")")
        }
    }
}

extension PostgresCopySource {
    /// The test database, as the verifier reads it.
    static func testDatabase() throws -> Self {
        Self(configuration: try TestEnvironment.postgresConfiguration(), tls: .disable)
    }
}

extension AuditTests {
    /// The verifier keeps its COPY connections for the next verification; one the server closed
    /// meanwhile (a restart, an administrator) is replaced, not reported as a failure. (Terminating
    /// waits until the backend has exited.)
    @Test func keptCopyConnectionsTheServerClosedAreReplaced() async throws {
        try await withTestPostgres { client in
            let schema = "audit_copy_reuse_test"
            try await self.reset(schema, client)
            let tenant = TenantID(UUID())
            _ = try await AuditWriter(client: client, schema: schema, keyring: .ephemeral()).write(
                try self.events(30, tenant: tenant),
                logger: self.logger
            )
            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema)
            #expect(try await verifier.verify(tenant: tenant, logger: self.logger).checked == 30)
            var terminated = 0
            for try await ended in try await client.query(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = 'gatehouse-audit-verify' AND state = 'idle'",
                logger: self.logger
            ).decode(Bool.self) where ended {
                terminated += 1
            }
            #expect(terminated >= 1)
            let again = try await verifier.verify(tenant: tenant, logger: self.logger)
            #expect(again.isValid && again.checked == 30)
        }
    }
}
