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
    /// The first sequence number that does not verify; `nil` when everything verifies.
    package var firstBadSequence: Int64?
    package var problem: String?

    package var isValid: Bool { self.firstBadSequence == nil }
}

/// Recomputes a tenant's hash chain from the stored columns, streaming (constant memory).
///
/// It names the first bad sequence number: an edited field or raw event (its hash no longer
/// matches), a deleted row (a gap), rows swapped or reordered (their sequence or link no longer
/// matches), or a truncated tail (the chain ends before the head).
package struct ChainVerifier: Sendable {
    /// Rows fetched per round trip.
    static let pageSize = 5000

    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = AuditService.schema) {
        self.client = client
        self.schema = schema
    }

    package func verify(tenant: TenantID, from: Int64 = 1, logger: Logger) async throws -> VerificationReport {
        let s = self.schema
        var report = VerificationReport(tenant: tenant, from: max(from, 1), checked: 0, headSequence: 0)
        for try await (sequence, _) in try await self.client.query(
            PostgresQuery(unsafeSQL: "SELECT seq, hash FROM \(s).heads WHERE tenant_id = $1", binds: PostgresBindings(tenant.rawValue)),
            logger: logger
        ).decode((Int64, ByteBuffer).self) {
            report.headSequence = sequence
        }

        var expectedSequence = report.from
        var previousHash = AuditRecord.genesis
        if report.from > 1 {
            var found = false
            for try await hash in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: "SELECT hash FROM \(s).records WHERE tenant_id = $1 AND seq = $2",
                    binds: PostgresBindings(tenant.rawValue, report.from - 1)
                ),
                logger: logger
            ).decode(ByteBuffer.self) {
                previousHash = Array(buffer: hash)
                found = true
            }
            if !found {
                report.firstBadSequence = report.from - 1
                report.problem = "record \(report.from - 1), where verification starts, is missing"
                return report
            }
        }

        // Pages of rows fetched whole on the event loop (far fewer task switches than a row stream,
        // memory bounded by the page size); the next page is fetched while this one is checked.
        @Sendable func fetchPage(from start: Int64?) async throws -> PostgresQueryResult? {
            guard let start else { return nil }
            return try await self.client.withConnection { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT seq, event_id, event_type, source, subject, nats_subject, occurred_at, sha256(raw), prev_hash, hash
                            FROM \(s).records WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT \(Self.pageSize)
                            """,
                        binds: PostgresBindings(tenant.rawValue, start)
                    ),
                    logger: logger
                ).get()
            }
        }
        var current = try await fetchPage(from: report.from)
        while let page = current {
            var nextStart: Int64?
            if page.rows.count == Self.pageSize, let last = page.rows.last {
                nextStart = try last.makeRandomAccess()[0].decode(Int64.self) + 1
            }
            async let following = fetchPage(from: nextStart)
            for row in page.rows {
                let (sequence, eventID, type, source, subject, natsSubject, occurredAt, rawDigest, prev, hash) = try row.decode(
                    (Int64, UUID, String, String, String?, String, Date, ByteBuffer, ByteBuffer, ByteBuffer).self
                )
                report.checked += 1
                guard sequence == expectedSequence else {
                    report.firstBadSequence = expectedSequence
                    report.problem = "record \(expectedSequence) is missing (next stored is \(sequence))"
                    return report
                }
                let record = AuditRecord(
                    tenant: tenant,
                    sequence: sequence,
                    eventID: eventID,
                    eventType: type,
                    source: source,
                    subject: subject,
                    natsSubject: natsSubject,
                    occurredAt: occurredAt,
                    rawDigest: Array(buffer: rawDigest),
                    previousHash: Array(buffer: prev),
                    hash: Array(buffer: hash)
                )
                guard record.previousHash == previousHash else {
                    report.firstBadSequence = sequence
                    report.problem = "record \(sequence) does not link to record \(sequence - 1)"
                    return report
                }
                guard record.computeHash() == record.hash else {
                    report.firstBadSequence = sequence
                    report.problem = "record \(sequence) was altered (its hash does not match its content)"
                    return report
                }
                previousHash = record.hash
                expectedSequence += 1
            }
            current = try await following
        }
        if expectedSequence - 1 < report.headSequence {
            report.firstBadSequence = expectedSequence
            report.problem = "the chain ends at \(expectedSequence - 1) but the head is \(report.headSequence): records were removed"
            return report
        }
        // The chain is intact: every signed checkpoint must match it.
        let checkpoints = CheckpointStore(client: self.client, schema: s, signer: try CheckpointSigner())
        if let bad = try await checkpoints.firstBadCheckpoint(tenant: tenant, from: report.from, logger: logger) {
            report.firstBadSequence = bad.sequence
            report.problem = bad.problem
        }
        return report
    }
}
