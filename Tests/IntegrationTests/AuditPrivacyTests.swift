import AuditService
import Foundation
import GatehouseAuth
import GatehouseWire
import Logging
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

/// Roles, crypto-shredding, retention and long chains (audit issue).
extension AuditTests {
    /// `count` probe events about `person` (if any) at a door, one second apart from `start`.
    func contextEvents(
        _ count: Int,
        tenant: TenantID,
        person: UUID? = nil,
        site: UUID? = nil,
        start: Date = Date(timeIntervalSince1970: 1_795_000_000),
        firstSequence: UInt64 = 1
    ) throws -> [Classified] {
        try (0..<count).map { index in
            let event = CloudEvent(
                source: EventSource(service: .access, instance: "a-1"),
                time: start.addingTimeInterval(Double(index)),
                subject: "door/front",
                tenant: tenant,
                context: EventContext(site: site, door: UUID(), person: person, outcome: "granted", reason: "validCredential"),
                data: EventProbe(run: "Zoë Müller, +49 30 1234567", number: index + 1)
            )
            return EventClassifier().classify(
                natsSubject: event.natsSubject,
                payload: Array(try WireCoding.encode(event)),
                streamSequence: firstSequence + UInt64(index)
            )
        }
    }

    func erasure(of person: UUID, tenant: TenantID, streamSequence: UInt64) throws -> Classified {
        let event = CloudEvent(
            source: EventSource(service: .identity, instance: "i-1"),
            tenant: tenant,
            context: EventContext(person: person),
            data: PersonErased(personId: person, erasedAt: Date())
        )
        return EventClassifier().classify(
            natsSubject: event.natsSubject,
            payload: Array(try WireCoding.encode(event)),
            streamSequence: streamSequence
        )
    }

    func storedEvent(_ client: PostgresClient, schema: String, tenant: TenantID, sequence: Int64) async throws -> (
        raw: [UInt8], sealed: Bool, eventID: UUID
    ) {
        for try await (raw, sealed, id) in try await client.query(
            PostgresQuery(
                unsafeSQL: "SELECT raw, sealed, event_id FROM \(schema).records WHERE tenant_id = $1 AND seq = $2",
                binds: PostgresBindings(tenant.rawValue, sequence)
            ),
            logger: self.logger
        ).decode((ByteBuffer, Bool, UUID).self) {
            return (Array(buffer: raw), sealed, id)
        }
        throw RecordMissing(sequence: sequence)
    }

    @Test func theWriterRoleCannotRewriteRecordsAndOnlyRetentionDeletes() async throws {
        try await withTestPostgres { client in
            let schema = "audit_roles_test"
            try await self.reset(schema, client)
            let tenant = TenantID(UUID())
            _ = try await AuditWriter(client: client, schema: schema, keyring: .ephemeral()).write(
                try self.events(3, tenant: tenant),
                logger: self.logger
            )
            func attempt(_ role: String, _ sql: String) async -> String? {
                do {
                    try await client.withTransaction(logger: self.logger) { connection in
                        try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL ROLE \(role)"), logger: self.logger)
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                    }
                    return nil
                } catch let error as PostgresTransactionError {
                    return (error.closureError as? PSQLError)?.serverInfo?[.sqlState]
                } catch {
                    return "\(error)"
                }
            }
            let update = "UPDATE \(schema).records SET source = 'x' WHERE tenant_id = '\(tenant)'"
            let delete = "DELETE FROM \(schema).records WHERE tenant_id = '\(tenant)' AND seq = 3"
            #expect(await attempt("gatehouse_audit_writer", update) == "42501")  // insufficient_privilege
            #expect(await attempt("gatehouse_audit_writer", delete) == "42501")
            #expect(await attempt("gatehouse_audit_writer", "TRUNCATE \(schema).records") == "42501")
            #expect(await attempt("gatehouse_audit_reader", update) == "42501")
            #expect(await attempt("gatehouse_audit_retention", update) == "42501")
            #expect(await attempt("gatehouse_audit_retention", delete) == nil)
        }
    }

    @Test func eventsAboutAPersonAreSealedAndErasureShredsThemWhileTheChainVerifies() async throws {
        try await withTestPostgres { client in
            let schema = "audit_privacy_test"
            try await self.reset(schema, client)
            let keyring = PersonKeyring.ephemeral()
            let writer = AuditWriter(client: client, schema: schema, keyring: keyring)
            let reader = AuditReader(client: client, schema: schema, keyring: keyring)
            let tenant = TenantID(UUID())
            let person = UUID()
            let other = UUID()
            _ = try await writer.write(
                try self.contextEvents(2, tenant: tenant, person: person) + self.contextEvents(1, tenant: tenant, person: other, firstSequence: 3)
                    + self.contextEvents(1, tenant: tenant, firstSequence: 4),
                logger: self.logger
            )
            // Stored encrypted: the name is not in the bytes; read back through the person's key.
            let stored = try await self.storedEvent(client, schema: schema, tenant: tenant, sequence: 1)
            #expect(stored.sealed)
            #expect(!String(decoding: stored.raw, as: UTF8.self).contains("Müller"))
            #expect(try await self.storedEvent(client, schema: schema, tenant: tenant, sequence: 4).sealed == false)
            var page = try await reader.records(AuditFilter(tenant: tenant, person: person), logger: self.logger)
            #expect(page.records.count == 2)
            #expect(page.records.allSatisfy { $0.event.map { String(decoding: $0, as: UTF8.self).contains("Müller") } == true })

            // Erasure destroys the key: the person's records stay, pseudonymous, and still verify;
            // a late event about them is sealed under a key nobody keeps.
            let outcome = try await writer.write(
                [try self.erasure(of: person, tenant: tenant, streamSequence: 5)]
                    + self.contextEvents(1, tenant: tenant, person: person, firstSequence: 6),
                logger: self.logger
            )
            #expect(outcome.erasures == 1 && outcome.recorded == 2)
            page = try await reader.records(AuditFilter(tenant: tenant, person: person), logger: self.logger)
            #expect(page.records.count == 4)  // 2 before, the erasure itself, 1 late
            let erased = page.records.filter { $0.eventType != PersonErased.eventType.type }
            #expect(erased.count == 3 && erased.allSatisfy { $0.event == nil && $0.erased })
            #expect(page.records.first { $0.eventType == PersonErased.eventType.type }?.event != nil)
            // Another person's record is untouched.
            let others = try await reader.records(AuditFilter(tenant: tenant, person: other), logger: self.logger)
            #expect(others.records.first?.event != nil)
            let report = try await ChainVerifier(client: client, source: try .testDatabase(), schema: schema).verify(
                tenant: tenant,
                logger: self.logger
            )
            #expect(report.isValid && report.headSequence == 6, "\(report.problem ?? "")")
        }
    }

    @Test func retentionPrunesWholeSegmentsKeepsCheckpointsAndTheRestVerifies() async throws {
        try await withTestPostgres { client in
            let schema = "audit_retention_test"
            try await self.reset(schema, client)
            let tenant = TenantID(UUID())
            let store = CheckpointStore(client: client, schema: schema, signer: try CheckpointSigner())
            try await store.registerKey(logger: self.logger)
            let writer = AuditWriter(client: client, schema: schema, keyring: .ephemeral())
            let now = Date()
            // Three segments of 10, signed 100, 50 and 10 days ago; then 5 records not yet checkpointed.
            for (index, age) in [100.0, 50, 10].enumerated() {
                _ = try await writer.write(try self.events(10, tenant: tenant, firstSequence: UInt64(index * 10 + 1)), logger: self.logger)
                _ = try await store.createDue(minimumNewRecords: 10, now: now.addingTimeInterval(-age * 86_400), logger: self.logger)
            }
            _ = try await writer.write(try self.events(5, tenant: tenant, firstSequence: 31), logger: self.logger)

            let job = RetentionJob(client: client, schema: schema, defaultDays: 90)
            var outcomes = try await job.prune(now: now, logger: self.logger)
            #expect(outcomes.map(\.deleted) == [10] && outcomes.first?.prunedThrough == 10)
            #expect(try await job.prune(now: now, logger: self.logger).isEmpty)  // nothing more is due

            // A tenant's own, shorter retention: the 50-day segment goes too, never the unsigned tail.
            try await self.execute(client, "INSERT INTO \(schema).retention (tenant_id, days) VALUES ('\(tenant)', 30)")
            outcomes = try await job.prune(now: now, logger: self.logger)
            #expect(outcomes.first?.prunedThrough == 20 && outcomes.first?.deleted == 10)
            try await self.execute(client, "UPDATE \(schema).retention SET days = 1 WHERE tenant_id = '\(tenant)'")
            outcomes = try await job.prune(now: now, logger: self.logger)
            #expect(outcomes.first?.prunedThrough == 30)

            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema)
            let report = try await verifier.verify(tenant: tenant, logger: self.logger)
            #expect(report.isValid && report.prunedThrough == 30 && report.checked == 5 && report.checkpoints == 3, "\(report.problem ?? "")")
            // What remains is still anchored: a record edited after pruning is named.
            try await self.execute(client, "UPDATE \(schema).records SET source = 'x' WHERE tenant_id = '\(tenant)' AND seq = 31")
            #expect(try await verifier.verify(tenant: tenant, logger: self.logger).firstBadSequence == 31)
        }
    }

    /// Chains long enough to be checked in parallel ranges (here: over 200 records)
    /// still name the first bad record, in whichever range or page it lies, and a gap at a boundary.
    @Test(arguments: [
        ("edit in the second range", "UPDATE {s}.records SET event_type = 'x' WHERE tenant_id = '{t}' AND seq IN (1700, 2100)", Int64(1700)),
        ("delete the first row of the second range", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq = 1251", 1251),
        ("delete the last row of the first range", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq = 1250", 1250),
        ("delete 201 rows", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq BETWEEN 1300 AND 1500", 1300),
        ("truncate the tail", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq > 2490", 2491),
    ])
    func longChainsAreCheckedInParallelRanges(what: String, sql: String, firstBad: Int64) async throws {
        try await withTestPostgres { client in
            let schema = "audit_long_chain_test"
            let tenant = TenantID(UUID())
            try await self.reset(schema, client)
            let writer = AuditWriter(client: client, schema: schema, keyring: .ephemeral())
            let events = try self.contextEvents(2500, tenant: tenant, site: UUID())
            for offset in stride(from: 0, to: events.count, by: 500) {
                _ = try await writer.write(Array(events[offset..<offset + 500]), logger: self.logger)
            }
            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema, minimumRange: 200)
            let intact = try await verifier.verify(tenant: tenant, logger: self.logger)
            #expect(intact.isValid && intact.checked == 2500, "\(intact.problem ?? "")")
            try await self.execute(client, sql.replacingOccurrences(of: "{s}", with: schema).replacingOccurrences(of: "{t}", with: "\(tenant)"))
            let report = try await verifier.verify(tenant: tenant, logger: self.logger)
            #expect(report.firstBadSequence == firstBad, "\(what): \(report.problem ?? "verified")")
        }
    }

    /// With checkpoints (every 300 records here), the cut between parallel ranges moves to the
    /// nearest segment boundary (1201, not 1251), and each segment is matched in the same pass as
    /// the links; a verification starting inside a segment still reads the whole segment.
    @Test(arguments: [
        ("intact", "SELECT 1", Int64(1), Int64?.none),
        (
            "forge a Merkle root in the second range",
            "UPDATE {s}.checkpoints SET merkle_root = sha256(merkle_root) WHERE tenant_id = '{t}' AND seq = 1500", 1, 1500
        ),
        (
            "forge roots in both ranges",
            "UPDATE {s}.checkpoints SET merkle_root = sha256(merkle_root) WHERE tenant_id = '{t}' AND seq IN (900, 2100)", 1, 900
        ),
        ("delete the first row of the second range", "DELETE FROM {s}.records WHERE tenant_id = '{t}' AND seq = 1201", 1, 1201),
        ("edit a row in the second range", "UPDATE {s}.records SET source = 'x' WHERE tenant_id = '{t}' AND seq = 2222", 1, 2222),
        ("from inside a segment", "SELECT 1", 1250, nil),
        (
            "rewrite a hash before where verification starts", "UPDATE {s}.records SET hash = sha256(hash) WHERE tenant_id = '{t}' AND seq = 1220",
            1250, 1500
        ),
    ])
    func rangesAreCutBetweenCheckpointSegments(what: String, sql: String, from: Int64, firstBad: Int64?) async throws {
        try await withTestPostgres { client in
            let schema = "audit_segment_ranges_test"
            let tenant = TenantID(UUID())
            try await self.reset(schema, client)
            let writer = AuditWriter(client: client, schema: schema, keyring: .ephemeral())
            let store = CheckpointStore(client: client, schema: schema, signer: try CheckpointSigner())
            try await store.registerKey(logger: self.logger)
            let events = try self.contextEvents(2500, tenant: tenant, site: UUID())
            for offset in stride(from: 0, to: events.count, by: 100) {
                _ = try await writer.write(Array(events[offset..<offset + 100]), logger: self.logger)
                _ = try await store.createDue(minimumNewRecords: 300, logger: self.logger)
            }
            try await self.execute(client, sql.replacingOccurrences(of: "{s}", with: schema).replacingOccurrences(of: "{t}", with: "\(tenant)"))
            let verifier = ChainVerifier(client: client, source: try .testDatabase(), schema: schema, minimumRange: 200)
            let report = try await verifier.verify(tenant: tenant, from: from, logger: self.logger)
            #expect(report.firstBadSequence == firstBad, "\(what): \(report.problem ?? "verified")")
            #expect(report.checkpoints == (from == 1 ? 8 : 4))
            if firstBad == nil { #expect(report.checked == 2500 - from + 1) }
        }
    }
}

extension AuditTests {
    @Test func cliExportsSetsRetentionAndIssuesTokens() async throws {
        try await withTestPostgres { client in
            try await MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations).run(on: client, logger: self.logger)
            let tenant = TenantID(UUID())
            // Sealed with the key the CLI gets from GATEHOUSE_AUDIT_DATA_KEY, as the service would.
            let key = try #require(Data(base64Encoded: try TestEnvironment.require("GATEHOUSE_AUDIT_DATA_KEY")))
            _ = try await AuditWriter(client: client, keyring: PersonKeyring(keyEncryptionKey: Array(key))).write(
                try self.contextEvents(6, tenant: tenant, person: UUID()),
                logger: self.logger
            )
            let jsonl = try await runGatehouse(["audit", "export", "--tenant", "\(tenant)"])
            #expect(jsonl.status == 0)
            let lines = jsonl.output.split(separator: "\n")
            #expect(lines.count == 6)
            #expect(lines.allSatisfy { $0.contains("Müller") && $0.contains(#""sealed":true"#) })
            let csv = try await runGatehouse(["audit", "export", "--tenant", "\(tenant)", "--format", "csv", "--outcome", "granted"])
            #expect(csv.status == 0 && csv.output.split(separator: "\r\n").count == 7)
            #expect(try await runGatehouse(["audit", "export", "--tenant", "\(tenant)", "--format", "xml"]).status != 0)

            #expect(try await runGatehouse(["audit", "retention", "--tenant", "\(tenant)", "--days", "48"]).status == 0)
            var days: Int?
            for try await value in try await client.query(
                "SELECT days FROM audit.retention WHERE tenant_id = \(tenant.rawValue)",
                logger: self.logger
            )
            .decode(Int.self) {
                days = value
            }
            #expect(days == 48)
            #expect(try await runGatehouse(["audit", "retention", "--tenant", "\(tenant)", "--days", "0"]).status != 0)

            let issued = try await runGatehouse(["token", "issue", "--tenant", "\(tenant)", "--role", "staff", "--building", "\(UUID())"])
            #expect(issued.status == 0)
            let seed = try #require(Data(base64Encoded: try TestEnvironment.require("GATEHOUSE_AUTH_ISSUER_KEY")))
            let issuer = try TokenSigner(seed: Array(seed))
            let principal = try TokenVerifier(keySet: JWKS(keys: [issuer.publicJWK])).verify(
                issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
            )
            #expect(principal.role == .staff && principal.claims.tid == tenant && principal.claims.buildings?.count == 1)
        }
    }
}

struct RecordMissing: Error {
    var sequence: Int64
}
