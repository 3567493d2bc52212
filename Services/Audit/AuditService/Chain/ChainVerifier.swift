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
/// matches), or a truncated tail (the chain ends before the head); then the first signed checkpoint
/// that is not signed by a known key, does not continue the one before, or does not match the
/// records it covers.
///
/// One pass reads each record once, from a binary COPY stream (``PostgresCopySource``,
/// ``StoredRecord``), and checks both its link and, while the records of a checkpoint's segment go
/// by, that segment's head hash and Merkle root. A long chain is cut into ranges checked in
/// parallel, each on its own connection; the cuts fall between checkpoint segments, so no segment is
/// split.
package struct ChainVerifier: Sendable {
    /// The columns read of each record.
    package static var columns: String { StoredRecord.columns }
    package static var columnCount: Int { StoredRecord.layout.count }

    /// Ranges checked at once (each on its own connection, so PostgreSQL uses as many backends).
    static let parallelism = 2

    let client: PostgresClient
    /// Reads the records (the checkpoints and heads come through `client`).
    let source: PostgresCopySource
    let schema: String
    /// Chains shorter than this are checked as one range.
    let minimumRange: Int64

    /// `minimumRange` is for tests that need ranges on short chains.
    package init(client: PostgresClient, source: PostgresCopySource, schema: String = AuditService.schema, minimumRange: Int64 = 20_000) {
        self.client = client
        self.source = source
        self.schema = schema
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
        try await self.checkLayout(logger: logger)

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

        // Checkpoints: signatures and continuity now; the segments whose records are kept are
        // matched against them during the pass.
        let (checkpoints, keys) = try await CheckpointStore.load(client: self.client, schema: s, tenant: tenant, from: report.from, logger: logger)
        report.checkpoints = checkpoints.count
        let unsigned = CheckpointStore.firstUnsigned(checkpoints, keys: keys)
        let kept = checkpoints.filter { $0.fromSequence > report.prunedThrough }

        let plan = RangePlan(start: start, head: report.headSequence, count: self.ranges(for: report.headSequence - start + 1), segments: kept)
        let firstAnchor = anchor
        let outcomes = try await withThrowingTaskGroup(of: (Int, RangeOutcome).self) { group in
            for (index, range) in plan.ranges.enumerated() {
                group.addTask {
                    let outcome = try await self.check(tenant: tenant, range, anchor: index == 0 ? firstAnchor : nil, logger: logger)
                    return (index, outcome)
                }
            }
            var outcomes = [RangeOutcome?](repeating: nil, count: plan.ranges.count)
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
        if let bad = unsigned ?? outcomes.lazy.compactMap(\.firstBadCheckpoint).first {
            report.firstBadSequence = bad.sequence
            report.problem = bad.problem
        }
        return report
    }

    /// A binary COPY stream carries no types: the table must have every column ``StoredRecord``
    /// reads, with its type.
    private func checkLayout(logger: Logger) async throws {
        var types: [String: String] = [:]
        for try await (name, type) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT attname::text, format_type(atttypid, NULL) FROM pg_attribute
                    WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
                    """,
                binds: PostgresBindings("\(self.schema).records")
            ),
            logger: logger
        ).decode((String, String).self) {
            types[name] = type
        }
        guard StoredRecord.layout.allSatisfy({ types[$0.name] == $0.type }) else { throw VerificationError.unexpectedColumns }
    }

    /// How many ranges a chain of `length` records is cut into.
    private func ranges(for length: Int64) -> Int { length >= self.minimumRange ? Self.parallelism : 1 }

    struct RangeOutcome: Sendable {
        var checked: Int64 = 0
        var firstBad: (sequence: Int64, problem: String)?
        var firstBadCheckpoint: (sequence: Int64, problem: String)?
    }

    /// Checks one range's records (`through` nil: to the end). The first one links to `anchor`, or,
    /// when that is nil, to the stored hash of the record before it (another range checks that record
    /// itself).
    private func check(tenant: TenantID, _ range: RangePlan.Range, anchor: [UInt8]?, logger: Logger) async throws -> RangeOutcome {
        let s = self.schema
        var previous = anchor
        if previous == nil {
            for try await hash in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: "SELECT hash FROM \(s).records WHERE tenant_id = $1 AND seq = $2",
                    binds: PostgresBindings(tenant.rawValue, range.from - 1)
                ),
                logger: logger
            ).decode(ByteBuffer.self) {
                previous = Array(buffer: hash)
            }
        }
        // Missing: the range before this one reports the gap.
        guard let previous else { return RangeOutcome() }

        // One COPY per range, its rows checked as they arrive: memory stays constant, and the
        // COPY's snapshot makes the range consistent. The primary key is walked in order (never a
        // sort of a whole chain, whatever the statistics say; not worth compiling either).
        let pass = RangePass(RangeChecker(from: range.from, anchor: previous, segments: range.segments))
        let bounds = range.through.map { "BETWEEN \(range.readFrom) AND \($0)" } ?? ">= \(range.readFrom)"
        try await self.source.copy(
            setup: "SET default_transaction_read_only = on; SET enable_sort = off; SET enable_bitmapscan = off; SET jit = off",
            query: """
                SELECT \(StoredRecord.columns) FROM \(s).records
                WHERE tenant_id = '\(tenant.description)' AND seq \(bounds) ORDER BY tenant_id, seq
                """,
            fieldCount: StoredRecord.layout.count
        ) { tuple in try pass.consume(tuple) }
        return pass.stopped ? pass.checker.outcome : pass.checker.finish(through: range.through)
    }
}

/// A range's checker, fed row by row from the thread reading the range's COPY stream.
///
/// `@unchecked Sendable`: ``PostgresCopySource`` calls the row closure on one thread, one row after
/// another, and the checker is read only after the copy returned (which orders those calls before).
final class RangePass: @unchecked Sendable {
    var checker: RangeChecker
    /// Whether the range found its first bad record (and stopped reading).
    private(set) var stopped = false

    init(_ checker: RangeChecker) { self.checker = checker }

    func consume(_ tuple: CopyTuple) throws -> Bool {
        guard try self.checker.consume(tuple) else {
            self.stopped = true
            return false
        }
        return true
    }
}

/// Where a chain is cut for parallel checking: into about equal ranges, each cut moved to the
/// nearest boundary between checkpoint segments, so each segment's records are read by one range.
struct RangePlan {
    struct Range: Sendable {
        /// The first record whose link this range checks.
        var from: Int64
        /// The last (nil: to the end of what is stored).
        var through: Int64?
        /// The checkpoint segments this range matches (the first range's may start before `from`).
        var segments: [Checkpoint]
        /// The first record read: `from`, or earlier when a segment starts before it.
        var readFrom: Int64 { min(self.from, self.segments.first?.fromSequence ?? self.from) }
    }

    var ranges: [Range]

    init(start: Int64, head: Int64, count: Int, segments: [Checkpoint]) {
        let total = max(head - start + 1, 0)
        var cuts: [Int64] = []
        if count > 1 {
            let width = max((total + Int64(count) - 1) / Int64(count), 1)
            for index in 1..<count {
                let cut = Self.boundary(near: start + Int64(index) * width, segments: segments)
                if cut > (cuts.last ?? start), cut <= head { cuts.append(cut) }
            }
        }
        let lowers = [start] + cuts
        var ranges = lowers.enumerated().map { index, lower in
            Range(from: lower, through: index + 1 < lowers.count ? lowers[index + 1] - 1 : nil, segments: [])
        }
        for segment in segments {
            // The last range starting at or before the segment; a segment starting before the
            // first checked record belongs to the first range.
            let index = lowers.lastIndex { $0 <= segment.fromSequence } ?? 0
            ranges[index].segments.append(segment)
        }
        self.ranges = ranges
    }

    /// `ideal`, or, when that would cut a segment (`from < cut ≤ sequence`), the nearer of that
    /// segment's ends. `segments` are ordered by sequence.
    static func boundary(near ideal: Int64, segments: [Checkpoint]) -> Int64 {
        var low = 0
        var high = segments.count
        while low < high {  // the first segment ending at or after `ideal`
            let middle = (low + high) / 2
            if segments[middle].sequence < ideal { low = middle + 1 } else { high = middle }
        }
        guard low < segments.count, segments[low].fromSequence < ideal else { return ideal }
        let before = segments[low].fromSequence
        let after = segments[low].sequence + 1
        return ideal - before <= after - ideal ? before : after
    }
}

enum VerificationError: Error {
    /// The records table does not have the columns, types or wire format the verifier reads.
    case unexpectedColumns
}
