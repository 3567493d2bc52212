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
    /// Persons whose keys this batch destroyed.
    package var erasures = 0
}

/// A person of a tenant.
struct PersonRef: Hashable {
    var tenant: UUID
    var person: UUID
}

/// Appends a batch to the tenants' hash chains and the quarantine in one transaction.
///
/// Heads are locked per tenant (`SELECT … FOR UPDATE`, in tenant order), so two writers never
/// interleave a chain; an event id already recorded is skipped, so a redelivered batch is harmless.
package struct AuditWriter: Sendable {
    let client: PostgresClient
    let schema: String
    let keyring: PersonKeyring

    package init(client: PostgresClient, schema: String = AuditService.schema, keyring: PersonKeyring) {
        self.client = client
        self.schema = schema
        self.keyring = keyring
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
        // This transaction may append, never rewrite (the role has no UPDATE or DELETE on records).
        try await connection.query("SET LOCAL ROLE gatehouse_audit_writer", logger: logger)

        let quarantined = items.compactMap { if case .quarantine(let q) = $0 { q } else { nil } }
        if !quarantined.isEmpty {
            var inserted = 0
            for try await _ in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).quarantine (stream_seq, nats_subject, reason, raw)
                        SELECT seq, subject, reason, raw
                        FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[]) AS q (seq, subject, reason, raw)
                        ON CONFLICT (stream_seq) DO NOTHING
                        RETURNING id
                        """,
                    binds: PostgresBindings(
                        quarantined.map { Int64($0.streamSequence) },
                        quarantined.map(\.natsSubject),
                        quarantined.map { "\($0.reason.rawValue): \($0.detail)" },
                        quarantined.map { ByteBuffer(bytes: $0.raw) }
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

        let keys = try await self.personKeys(for: events, on: connection, logger: logger)

        // Chain in stream order; events about a person are stored sealed under their key.
        var records: [(AuditRecord, stored: [UInt8], streamSequence: UInt64)] = []
        records.reserveCapacity(events.count)
        for event in events {
            let head = heads[event.tenant.rawValue] ?? (0, AuditRecord.genesis)
            var stored = event.raw
            if event.isSealable, let person = event.context.personid {
                // An erased person's key is gone: a late event about them is sealed under a key
                // nobody keeps, so it is as unreadable as their earlier ones.
                let key = keys[PersonRef(tenant: event.tenant.rawValue, person: person)] ?? SymmetricKey(size: .bits256)
                stored = try PersonKeyring.seal(event.raw, with: key, tenant: event.tenant, eventID: event.eventID)
            }
            var record = AuditRecord(
                tenant: event.tenant,
                sequence: head.sequence + 1,
                eventID: event.eventID,
                eventType: event.eventType,
                source: event.source,
                subject: event.subject,
                natsSubject: event.natsSubject,
                occurredAt: WireCoding.millisecondPrecision(event.occurredAt),
                rawDigest: AuditRecord.digest(stored),
                previousHash: head.hash,
                hash: [],
                context: event.context,
                sealed: stored != event.raw
            )
            record.hash = record.computeHash()
            heads[event.tenant.rawValue] = (record.sequence, record.hash)
            records.append((record, stored, event.streamSequence))
        }

        func ids(_ path: KeyPath<EventContext, UUID?>) -> [String] { records.map { $0.0.context[keyPath: path]?.lowercasedString ?? "" } }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(s).records
                        (tenant_id, seq, event_id, event_type, source, subject, nats_subject, occurred_at,
                         stream_seq, raw, prev_hash, hash, format, site_id, building_id, door_id, unit_id, person_id,
                         call_id, pass_id, outcome, reason, sealed)
                    SELECT tenant_id, seq, event_id, event_type, source, NULLIF(subject, ''), nats_subject,
                           occurred_at::timestamptz, stream_seq, raw, prev_hash, hash,
                           \(AuditRecord.currentFormat), NULLIF(site, '')::uuid, NULLIF(building, '')::uuid, NULLIF(door, '')::uuid,
                           NULLIF(unit, '')::uuid, NULLIF(person, '')::uuid, NULLIF(call, '')::uuid, NULLIF(pass, '')::uuid,
                           NULLIF(outcome, ''), NULLIF(reason, ''), sealed
                    FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::text[], $9::bigint[], $10::bytea[], $11::bytea[], $12::bytea[], $13::text[], $14::text[],
                                $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
                                $22::bool[])
                        AS r (tenant_id, seq, event_id, event_type, source, subject, nats_subject, occurred_at,
                              stream_seq, raw, prev_hash, hash, site, building, door, unit, person, call, pass, outcome,
                              reason, sealed)
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
                    records.map { Int64($0.streamSequence) },
                    records.map { ByteBuffer(bytes: $0.stored) },
                    records.map { ByteBuffer(bytes: $0.0.previousHash) },
                    records.map { ByteBuffer(bytes: $0.0.hash) },
                    ids(\.siteid),
                    ids(\.buildingid),
                    ids(\.doorid),
                    ids(\.unitid),
                    ids(\.personid),
                    ids(\.callid),
                    ids(\.passid),
                    records.map { $0.0.context.outcome ?? "" },
                    records.map { $0.0.context.reason ?? "" },
                    records.map(\.0.sealed)
                )
            ),
            logger: logger
        )
        // Erasure: destroy the keys (after the events above were sealed under them).
        let erased = events.filter { $0.eventType == PersonErased.eventType.type && $0.context.personid != nil }
        if !erased.isEmpty {
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(s).person_keys k SET wrapped_key = NULL, erased_at = now()
                        FROM unnest($1::uuid[], $2::uuid[]) AS e (tenant_id, person_id)
                        WHERE k.tenant_id = e.tenant_id AND k.person_id = e.person_id AND k.erased_at IS NULL
                        """,
                    binds: PostgresBindings(erased.map(\.tenant.rawValue), erased.compactMap(\.context.personid))
                ),
                logger: logger
            )
            outcome.erasures = erased.count
        }
        let updated = heads.filter { tenants.contains($0.key) }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(s).heads h SET seq = u.seq, hash = u.hash, updated_at = now()
                    FROM unnest($1::uuid[], $2::bigint[], $3::bytea[]) AS u (tenant_id, seq, hash)
                    WHERE h.tenant_id = u.tenant_id
                    """,
                binds: PostgresBindings(
                    Array(updated.keys),
                    updated.values.map(\.sequence),
                    updated.values.map { ByteBuffer(bytes: $0.hash) }
                )
            ),
            logger: logger
        )
        outcome.recorded = records.count
        return outcome
    }
}

extension AuditWriter {
    /// The data keys of the persons the batch's events name (erasures included, so an erased
    /// person always has a tombstone): created on first use, locked against a concurrent erasure.
    /// An erased person has no entry.
    private func personKeys(for events: [IncomingEvent], on connection: PostgresConnection, logger: Logger) async throws -> [PersonRef: SymmetricKey]
    {
        let people = Set(events.compactMap { event in event.context.personid.map { PersonRef(tenant: event.tenant.rawValue, person: $0) } })
            .sorted { ($0.tenant.uuidString, $0.person.uuidString) < ($1.tenant.uuidString, $1.person.uuidString) }
        guard !people.isEmpty else { return [:] }
        let fresh = try people.map { try self.keyring.makeKey(tenant: TenantID($0.tenant), person: $0.person).wrapped }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).person_keys (tenant_id, person_id, wrapped_key)
                    SELECT t, p, k FROM unnest($1::uuid[], $2::uuid[], $3::bytea[]) AS n (t, p, k)
                    ON CONFLICT DO NOTHING
                    """,
                binds: PostgresBindings(people.map(\.tenant), people.map(\.person), fresh.map { ByteBuffer(bytes: $0) })
            ),
            logger: logger
        )
        var keys: [PersonRef: SymmetricKey] = [:]
        for try await (tenant, person, wrapped) in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT k.tenant_id, k.person_id, k.wrapped_key FROM \(self.schema).person_keys k
                    JOIN unnest($1::uuid[], $2::uuid[]) AS n (t, p) ON k.tenant_id = n.t AND k.person_id = n.p
                    ORDER BY k.tenant_id, k.person_id FOR UPDATE OF k
                    """,
                binds: PostgresBindings(people.map(\.tenant), people.map(\.person))
            ),
            logger: logger
        ).decode((UUID, UUID, ByteBuffer?).self) {
            guard let wrapped else { continue }
            keys[PersonRef(tenant: tenant, person: person)] = try self.keyring.unwrap(
                Array(buffer: wrapped),
                tenant: TenantID(tenant),
                person: person
            )
        }
        return keys
    }
}

/// Lower-case hex of `bytes` (the canonical encoder's).
func hex(_ bytes: [UInt8]) -> String {
    var encoder = CanonicalEncoder()
    bytes.withUnsafeBytes { encoder.hex($0) }
    return String(decoding: encoder.bytes, as: UTF8.self)
}
