import Crypto
import Foundation
import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit

/// What one batch did.
package struct WriteOutcome: Sendable, Hashable {
    package var recorded = 0
    package var duplicates = 0
    package var quarantined = 0
}

/// Appends a batch to the tenants' hash chains and the quarantine in one transaction.
///
/// Heads are locked per tenant (`SELECT … FOR UPDATE`, in tenant order), so two writers never
/// interleave a chain; an event id already recorded is skipped, so a redelivered batch is harmless.
package struct AuditWriter: Sendable {
    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = AuditService.schema) {
        self.client = client
        self.schema = schema
    }

    /// Writes one batch in one transaction.
    ///
    /// A write still running after `timeout` is abandoned and reported as ``DeadlineExceeded``: when
    /// PostgreSQL restarts mid-transaction, postgres-nio 1.33 can leave the in-flight query waiting
    /// forever, deaf to cancellation (seen in the audit soak test). The abandoned task stays
    /// suspended; its connection is already closed and the pool replaces it. The batch is then
    /// redelivered and de-duplicated by event id.
    package func write(_ items: [Classified], timeout: Duration = .seconds(10), logger: Logger) async throws -> WriteOutcome {
        try await abandoning(after: timeout) {
            do {
                return try await self.client.withTransaction(logger: logger) { connection in
                    try await self.writeBatch(items, on: connection, logger: logger)
                }
            } catch let error as PostgresTransactionError {
                throw error.closureError ?? error
            }
        }
    }

    private func writeBatch(_ items: [Classified], on connection: PostgresConnection, logger: Logger) async throws -> WriteOutcome {
        let s = self.schema
        var outcome = WriteOutcome()

        let quarantined = items.compactMap { if case .quarantine(let q) = $0 { q } else { nil } }
        if !quarantined.isEmpty {
            var inserted = 0
            for try await _ in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).quarantine (stream_seq, nats_subject, reason, raw)
                        SELECT seq, subject, reason, decode(raw, 'hex')
                        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS q (seq, subject, reason, raw)
                        ON CONFLICT (stream_seq) DO NOTHING
                        RETURNING id
                        """,
                    binds: PostgresBindings(
                        quarantined.map { Int64($0.streamSequence) },
                        quarantined.map(\.natsSubject),
                        quarantined.map { "\($0.reason.rawValue): \($0.detail)" },
                        quarantined.map { hex($0.raw) }
                    )
                ),
                logger: logger
            ).decode(Int64.self) {
                inserted += 1
            }
            outcome.quarantined = inserted
        }

        var events = items.compactMap { if case .event(let e) = $0 { e } else { nil } }
        guard !events.isEmpty else { return outcome }

        // Drop events already recorded (redelivery) and repeats inside the batch.
        var known = Set<UUID>()
        for try await id in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT event_id FROM \(s).records WHERE event_id = ANY($1::uuid[])",
                binds: PostgresBindings(events.map(\.eventID))
            ),
            logger: logger
        ).decode(UUID.self) {
            known.insert(id)
        }
        let before = events.count
        events = events.filter { known.insert($0.eventID).inserted }
        outcome.duplicates = before - events.count
        guard !events.isEmpty else { return outcome }

        // Lock the heads of the tenants in this batch, creating missing ones.
        let tenants = Array(Set(events.map(\.tenant.rawValue))).sorted { $0.uuidString < $1.uuidString }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(s).heads (tenant_id, seq, hash)
                    SELECT t, 0, decode(repeat('00', 32), 'hex') FROM unnest($1::uuid[]) AS t
                    ON CONFLICT (tenant_id) DO NOTHING
                    """,
                binds: PostgresBindings(tenants)
            ),
            logger: logger
        )
        var heads: [UUID: (sequence: Int64, hash: [UInt8])] = [:]
        for try await (tenant, sequence, hash) in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT tenant_id, seq, hash FROM \(s).heads WHERE tenant_id = ANY($1::uuid[]) ORDER BY tenant_id FOR UPDATE",
                binds: PostgresBindings(tenants)
            ),
            logger: logger
        ).decode((UUID, Int64, ByteBuffer).self) {
            heads[tenant] = (sequence, Array(buffer: hash))
        }

        // Chain in stream order.
        var records: [(AuditRecord, IncomingEvent)] = []
        records.reserveCapacity(events.count)
        for event in events {
            let head = heads[event.tenant.rawValue] ?? (0, AuditRecord.genesis)
            var record = AuditRecord(
                tenant: event.tenant,
                sequence: head.sequence + 1,
                eventID: event.eventID,
                eventType: event.eventType,
                source: event.source,
                subject: event.subject,
                natsSubject: event.natsSubject,
                occurredAt: WireCoding.parse(WireCoding.format(event.occurredAt)) ?? event.occurredAt,
                rawDigest: AuditRecord.digest(event.raw),
                previousHash: head.hash,
                hash: []
            )
            record.hash = record.computeHash()
            heads[event.tenant.rawValue] = (record.sequence, record.hash)
            records.append((record, event))
        }

        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(s).records
                        (tenant_id, seq, event_id, event_type, source, subject, nats_subject, occurred_at,
                         stream_seq, raw, prev_hash, hash)
                    SELECT tenant_id, seq, event_id, event_type, source, NULLIF(subject, ''), nats_subject,
                           occurred_at::timestamptz, stream_seq, decode(raw, 'hex'), decode(prev_hash, 'hex'), decode(hash, 'hex')
                    FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[])
                        AS r (tenant_id, seq, event_id, event_type, source, subject, nats_subject, occurred_at,
                              stream_seq, raw, prev_hash, hash)
                    """,
                binds: PostgresBindings(
                    records.map(\.0.tenant.rawValue),
                    records.map(\.0.sequence),
                    records.map(\.0.eventID),
                    records.map(\.0.eventType),
                    records.map(\.0.source),
                    records.map { $0.0.subject ?? "" },
                    records.map(\.0.natsSubject),
                    records.map { WireCoding.format($0.0.occurredAt) },
                    records.map { Int64($0.1.streamSequence) },
                    records.map { hex($0.1.raw) },
                    records.map { hex($0.0.previousHash) },
                    records.map { hex($0.0.hash) }
                )
            ),
            logger: logger
        )
        let updated = heads.filter { tenants.contains($0.key) }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(s).heads h SET seq = u.seq, hash = decode(u.hash, 'hex'), updated_at = now()
                    FROM unnest($1::uuid[], $2::bigint[], $3::text[]) AS u (tenant_id, seq, hash)
                    WHERE h.tenant_id = u.tenant_id
                    """,
                binds: PostgresBindings(Array(updated.keys), updated.values.map(\.sequence), updated.values.map { hex($0.hash) })
            ),
            logger: logger
        )
        outcome.recorded = records.count
        return outcome
    }
}

/// Lower-case hex of `bytes`.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text = [UInt8](repeating: 0, count: bytes.count * 2)
    for (index, byte) in bytes.enumerated() {
        text[2 * index] = digits[Int(byte >> 4)]
        text[2 * index + 1] = digits[Int(byte & 0x0F)]
    }
    return String(decoding: text, as: UTF8.self)
}
