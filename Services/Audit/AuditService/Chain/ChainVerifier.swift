import Crypto
import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit

/// The outcome of recomputing a tenant's chain.
package struct VerificationReport: Sendable, Hashable, Codable {
    package var tenant: TenantID
    package var from: Int64
    /// Records checked (up to and including the first bad one).
    package var checked: Int64
    /// The head the chain should end at.
    package var headSequence: Int64
    /// Records `1…prunedThrough` were removed by retention; the signed checkpoint at
    /// `prunedThrough` anchors what remains.
    package var prunedThrough: Int64 = 0
    /// Signed checkpoints checked.
    package var checkpoints: Int = 0
    /// The first sequence number that does not verify; `nil` when everything verifies.
    package var firstBadSequence: Int64?
    package var problem: String?

    package var isValid: Bool { self.firstBadSequence == nil }
}

/// Recomputes a tenant's hash chain from the stored columns, streaming (constant memory).
///
/// It names the first bad sequence number: an edited field or stored event (its hash no longer
/// matches), a deleted row (a gap), rows swapped or reordered (their sequence or link no longer
/// matches), or a truncated tail (the chain ends before the head); then it checks every signed
/// checkpoint against the records it covers.
///
/// Rows are fetched in pages of raw column bytes and their canonical bytes assembled straight from
/// them (``CanonicalEncoder``, the same code the writer hashes with), without building records; the
/// ranges of a long chain are checked in parallel, each link against the stored hash before it.
package struct ChainVerifier: Sendable {
    /// The columns read of each record.
    package static var columns: String { StoredRow.columns }

    /// Ranges checked at once (each on its own connection, so PostgreSQL uses as many backends).
    static let parallelism = 2

    let client: PostgresClient
    let schema: String
    /// Rows fetched per round trip.
    let pageSize: Int64
    /// Chains shorter than this are checked as one range.
    let minimumRange: Int64

    /// `pageSize` and `minimumRange` are for tests that need pages and ranges on short chains.
    package init(client: PostgresClient, schema: String = AuditService.schema, pageSize: Int64 = 5_000, minimumRange: Int64 = 20_000) {
        self.client = client
        self.schema = schema
        self.pageSize = max(pageSize, 1)
        self.minimumRange = max(minimumRange, 2)
    }

    package func verify(tenant: TenantID, from: Int64 = 1, logger: Logger) async throws -> VerificationReport {
        let s = self.schema
        var report = VerificationReport(tenant: tenant, from: max(from, 1), checked: 0, headSequence: 0)
        for try await sequence in try await self.client.query(
            PostgresQuery(unsafeSQL: "SELECT seq FROM \(s).heads WHERE tenant_id = $1", binds: PostgresBindings(tenant.rawValue)),
            logger: logger
        ).decode(Int64.self) {
            report.headSequence = sequence
        }
        for try await through in try await self.client.query(
            PostgresQuery(unsafeSQL: "SELECT through_seq FROM \(s).pruned WHERE tenant_id = $1", binds: PostgresBindings(tenant.rawValue)),
            logger: logger
        ).decode(Int64.self) {
            report.prunedThrough = through
        }
        let start = max(report.from, report.prunedThrough + 1)

        // The hash the first checked record must link to: genesis, the record before it, or, right
        // after a pruned prefix, the head hash of the signed checkpoint that closed it.
        var anchor = AuditRecord.genesis
        if start > 1 {
            var found: [UInt8]?
            let afterPruning = start - 1 == report.prunedThrough
            let sql =
                afterPruning
                ? "SELECT head_hash FROM \(s).checkpoints WHERE tenant_id = $1 AND seq = $2"
                : "SELECT hash FROM \(s).records WHERE tenant_id = $1 AND seq = $2"
            for try await hash in try await self.client.query(
                PostgresQuery(unsafeSQL: sql, binds: PostgresBindings(tenant.rawValue, start - 1)),
                logger: logger
            ).decode(ByteBuffer.self) {
                found = Array(buffer: hash)
            }
            guard let found else {
                report.firstBadSequence = start - 1
                report.problem =
                    afterPruning
                    ? "the checkpoint at \(start - 1), which anchors the records kept after pruning, is missing"
                    : "record \(start - 1), where verification starts, is missing"
                return report
            }
            anchor = found
        }

        // Ranges: the last one is open-ended, so rows beyond the head are checked too.
        let total = max(report.headSequence - start + 1, 0)
        let count = total >= self.minimumRange ? Self.parallelism : 1
        let width = max((total + Int64(count) - 1) / Int64(count), 1)
        let ranges = (0..<count).map { index -> (Int64, Int64?) in
            let lower = start + Int64(index) * width
            return (lower, index == count - 1 ? nil : lower + width - 1)
        }
        let firstAnchor = anchor
        let outcomes = try await withThrowingTaskGroup(of: (Int, RangeOutcome).self) { group in
            for (index, range) in ranges.enumerated() {
                group.addTask {
                    let outcome = try await self.check(
                        tenant: tenant,
                        from: range.0,
                        through: range.1,
                        anchor: index == 0 ? firstAnchor : nil,
                        logger: logger
                    )
                    return (index, outcome)
                }
            }
            var outcomes = [RangeOutcome?](repeating: nil, count: ranges.count)
            for try await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes.compactMap { $0 }
        }
        for outcome in outcomes {
            if let bad = outcome.firstBad {
                report.firstBadSequence = bad.sequence
                report.problem = bad.problem
                report.checked = bad.sequence - start + 1
                return report
            }
            report.checked += outcome.checked
        }
        let last = start + report.checked - 1
        if last < report.headSequence {
            report.firstBadSequence = last + 1
            report.problem = "the chain ends at \(last) but the head is \(report.headSequence): records were removed"
            return report
        }
        // The chain is intact: every signed checkpoint must match it.
        let checkpoints = CheckpointStore(client: self.client, schema: s, signer: try CheckpointSigner())
        let checked = try await checkpoints.verify(tenant: tenant, from: report.from, prunedThrough: report.prunedThrough, logger: logger)
        report.checkpoints = checked.count
        if let bad = checked.firstBad {
            report.firstBadSequence = bad.sequence
            report.problem = bad.problem
        }
        return report
    }

    struct RangeOutcome: Sendable {
        var checked: Int64 = 0
        var firstBad: (sequence: Int64, problem: String)?
    }

    /// Checks records `from…through` (`through` nil: to the end). The first one links to `anchor`,
    /// or, when that is nil, to the stored hash of the record before it (another range checks that
    /// record itself).
    private func check(tenant: TenantID, from: Int64, through: Int64?, anchor: [UInt8]?, logger: Logger) async throws -> RangeOutcome {
        let s = self.schema
        let end = through ?? Int64.max
        var outcome = RangeOutcome()
        var expected = from
        var previous: ByteBuffer? = anchor.map { ByteBuffer(bytes: $0) }
        if previous == nil {
            for try await hash in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: "SELECT hash FROM \(s).records WHERE tenant_id = $1 AND seq = $2",
                    binds: PostgresBindings(tenant.rawValue, from - 1)
                ),
                logger: logger
            ).decode(ByteBuffer.self) {
                previous = hash
            }
            // Missing: the range before this one reports the gap.
            guard previous != nil else { return outcome }
        }

        @Sendable func fetch(_ lower: Int64?) async throws -> PostgresQueryResult? {
            guard let lower, lower <= end else { return nil }
            let upper = min(end, lower &+ self.pageSize - 1)
            return try await self.client.withConnection { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT \(StoredRow.columns)
                            FROM \(s).records WHERE tenant_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq
                            """,
                        binds: PostgresBindings(tenant.rawValue, lower, upper)
                    ),
                    logger: logger
                ).get()
            }
        }

        var encoder = CanonicalEncoder()
        var lower = from
        var current = try await fetch(lower)
        while let page = current {
            // Pages cover fixed sequence ranges, so rows after a gap are still reached; an open
            // range ends at the first empty page.
            let asked = min(end, lower &+ self.pageSize - 1)
            let more = asked < end && (through != nil || !page.rows.isEmpty)
            lower = asked &+ 1
            let next: Int64? = more ? lower : nil
            async let following = fetch(next)
            for row in page.rows {
                let stored = try StoredRow(row)
                let sequence = stored.sequence
                guard sequence == expected else {
                    outcome.firstBad = (expected, "record \(expected) is missing (next stored is \(sequence))")
                    return outcome
                }
                guard stored.previousHash == previous else {
                    outcome.firstBad = (sequence, "record \(sequence) does not link to record \(sequence - 1)")
                    return outcome
                }
                encoder.encode(stored)
                var hasher = SHA256()
                stored.previousHash.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                hasher.update(data: encoder.bytes)
                let computed = hasher.finalize()
                let hash = stored.hash
                guard hash.withUnsafeReadableBytes({ stored in computed.withUnsafeBytes { $0.elementsEqual(stored) } }) else {
                    outcome.firstBad = (sequence, "record \(sequence) was altered (its hash does not match its content)")
                    return outcome
                }
                previous = hash
                expected += 1
                outcome.checked += 1
            }
            current = try await following
        }
        if let through, expected <= through {
            outcome.firstBad = (expected, "record \(expected) is missing")
        }
        return outcome
    }
}

/// A stored record as raw column bytes, enough to recompute its hash.
struct StoredRow: CanonicalSource {
    /// What the verifier reads of each record (benchmarks read the same, without hashing).
    static let columns = """
        seq, prev_hash, hash, format, tenant_id, event_id, event_type, source, subject, nats_subject, occurred_at,
        site_id, building_id, door_id, unit_id, person_id, call_id, pass_id, outcome, reason, sealed, raw
        """
    let sequence: Int64
    let previousHash: ByteBuffer
    let hash: ByteBuffer
    let format: Int16
    let occurredAt: Int64
    let sealed: Bool
    /// The other columns' bytes, in ``columns`` order from `tenant_id` (nil: NULL).
    let tenant, eventID, eventType, source, subject, natsSubject: ByteBuffer?
    let site, building, door, unit, person, call, pass, outcome, reason, raw: ByteBuffer?

    /// Reads the cells in their binary wire form (the generic `PostgresRow.decode` costs more
    /// than everything else per row).
    init(_ row: PostgresRow) throws {
        var cells = row.makeIterator()
        func next() throws -> ByteBuffer? {
            guard let cell = cells.next(), cell.format == .binary else { throw VerificationError.unexpectedColumns }
            return cell.bytes
        }
        func integer<T: FixedWidthInteger>(_ bytes: ByteBuffer?, as: T.Type) throws -> T {
            guard let bytes, bytes.readableBytes == MemoryLayout<T>.size, let value = bytes.getInteger(at: bytes.readerIndex, as: T.self) else {
                throw VerificationError.unexpectedColumns
            }
            return value
        }
        self.sequence = try integer(try next(), as: Int64.self)
        self.previousHash = try next() ?? ByteBuffer()
        self.hash = try next() ?? ByteBuffer()
        self.format = try integer(try next(), as: Int16.self)
        self.tenant = try next()
        self.eventID = try next()
        self.eventType = try next()
        self.source = try next()
        self.subject = try next()
        self.natsSubject = try next()
        // timestamptz: microseconds since 2000-01-01T00:00:00Z; stored times are whole milliseconds.
        let microseconds = try integer(try next(), as: Int64.self)
        self.occurredAt = Self.postgresEpochMilliseconds + (microseconds >= 0 ? (microseconds + 500) / 1000 : (microseconds - 500) / 1000)
        self.site = try next()
        self.building = try next()
        self.door = try next()
        self.unit = try next()
        self.person = try next()
        self.call = try next()
        self.pass = try next()
        self.outcome = try next()
        self.reason = try next()
        self.sealed = try integer(try next(), as: UInt8.self) != 0
        self.raw = try next()
    }

    static let postgresEpochMilliseconds: Int64 = 946_684_800_000

    func write(_ field: CanonicalField, to encoder: inout CanonicalEncoder) {
        func text(_ bytes: ByteBuffer?) { bytes?.withUnsafeReadableBytes { encoder.raw($0) } }
        func uuid(_ bytes: ByteBuffer?) { bytes?.withUnsafeReadableBytes { encoder.hex($0, uuid: true) } }
        switch field {
        case .tenant: uuid(self.tenant)
        case .sequence: encoder.decimal(self.sequence)
        case .eventID: uuid(self.eventID)
        case .eventType: text(self.eventType)
        case .source: text(self.source)
        case .subject: text(self.subject)
        case .natsSubject: text(self.natsSubject)
        case .occurredAt: encoder.timestamp(milliseconds: self.occurredAt)
        case .site: uuid(self.site)
        case .building: uuid(self.building)
        case .door: uuid(self.door)
        case .unit: uuid(self.unit)
        case .person: uuid(self.person)
        case .call: uuid(self.call)
        case .pass: uuid(self.pass)
        case .outcome: text(self.outcome)
        case .reason: text(self.reason)
        case .sealed: encoder.text(self.sealed ? "1" : "0")
        case .rawDigest:
            // Hashed here rather than by PostgreSQL's sha256(), which costs more than the rest of the row.
            let digest = self.raw?.withUnsafeReadableBytes { SHA256.hash(data: $0) } ?? SHA256.hash(data: [UInt8]())
            digest.withUnsafeBytes { encoder.hex($0) }
        }
    }
}

enum VerificationError: Error {
    /// The records table does not have the columns, types or wire format the verifier reads.
    case unexpectedColumns
}
