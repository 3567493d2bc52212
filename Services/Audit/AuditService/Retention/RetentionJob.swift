package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit
import ServiceLifecycle

/// What pruning did to one tenant.
package struct PruneOutcome: Sendable, Hashable {
    package var tenant: TenantID
    /// Records `1…prunedThrough` are gone now (a checkpoint's sequence).
    package var prunedThrough: Int64
    package var deleted: Int64
}

/// Removes records older than each tenant's retention (docs/audit.md), whole checkpoint segments at
/// a time: a segment goes once its checkpoint was signed before the cutoff, so every record in it
/// is older. The checkpoints stay; the one at the new start anchors the chain that remains, and
/// `audit.pruned` says where that is. Runs as `gatehouse_audit_retention`, the only role that may
/// delete records.
package struct RetentionJob: Sendable {
    /// At most this many records are deleted per transaction (more when one segment is larger).
    static let recordsPerTransaction: Int64 = 10_000

    let client: PostgresClient
    let schema: String
    /// Days kept for a tenant without its own setting.
    let defaultDays: Int

    package init(client: PostgresClient, schema: String = AuditService.schema, defaultDays: Int = 90) {
        self.client = client
        self.schema = schema
        self.defaultDays = defaultDays
    }

    /// Prunes every tenant whose oldest segments are past retention at `now`.
    package func prune(now: Date = Date(), logger: Logger) async throws -> [PruneOutcome] {
        let s = self.schema
        var tenants: [(UUID, Int, Int64)] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT h.tenant_id, COALESCE(r.days, $1), COALESCE(p.through_seq, 0)
                    FROM \(s).heads h LEFT JOIN \(s).retention r USING (tenant_id) LEFT JOIN \(s).pruned p USING (tenant_id)
                    ORDER BY h.tenant_id
                    """,
                binds: PostgresBindings(self.defaultDays)
            ),
            logger: logger
        ).decode((UUID, Int, Int64).self) {
            tenants.append(row)
        }
        var outcomes: [PruneOutcome] = []
        for (tenant, days, through) in tenants {
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            var outcome = PruneOutcome(tenant: TenantID(tenant), prunedThrough: through, deleted: 0)
            while let step = try await self.pruneStep(tenant: tenant, after: outcome.prunedThrough, cutoff: cutoff, logger: logger) {
                outcome.prunedThrough = step.through
                outcome.deleted += step.deleted
            }
            if outcome.deleted > 0 {
                logger.info(
                    "audit records pruned",
                    metadata: [
                        "gatehouse.tenant": "\(tenant)", "gatehouse.pruned_through": "\(outcome.prunedThrough)",
                        "gatehouse.count": "\(outcome.deleted)",
                    ]
                )
                outcomes.append(outcome)
            }
        }
        return outcomes
    }

    /// One transaction: the segments after `after` whose checkpoints predate `cutoff`, up to about
    /// ``recordsPerTransaction`` records. `nil` when nothing is due.
    private func pruneStep(tenant: UUID, after: Int64, cutoff: Date, logger: Logger) async throws -> (through: Int64, deleted: Int64)? {
        let s = self.schema
        return try await self.client.withTransaction(logger: logger) { connection in
            try await connection.query("SET LOCAL ROLE gatehouse_audit_retention", logger: logger)
            // The last segment to go: the newest due checkpoint within the batch size, or else the
            // next due one on its own.
            var through: Int64?
            for try await seq in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT COALESCE(
                            (SELECT max(seq) FROM \(s).checkpoints WHERE tenant_id = $1 AND seq > $2 AND seq <= $2 + $4 AND created_at < $3),
                            (SELECT min(seq) FROM \(s).checkpoints WHERE tenant_id = $1 AND seq > $2 AND created_at < $3))
                        """,
                    binds: PostgresBindings(tenant, after, cutoff, Self.recordsPerTransaction)
                ),
                logger: logger
            ).decode(Int64?.self) {
                through = seq
            }
            guard let through else { return nil }
            var deleted: Int64 = 0
            for try await count in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH gone AS (DELETE FROM \(s).records WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 RETURNING 1)
                        SELECT count(*) FROM gone
                        """,
                    binds: PostgresBindings(tenant, after, through)
                ),
                logger: logger
            ).decode(Int64.self) {
                deleted = count
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).pruned (tenant_id, through_seq) VALUES ($1, $2)
                        ON CONFLICT (tenant_id) DO UPDATE SET through_seq = excluded.through_seq, pruned_at = now()
                        """,
                    binds: PostgresBindings(tenant, through)
                ),
                logger: logger
            )
            return (through, deleted)
        }
    }
}

/// Runs ``RetentionJob`` at start and then every `audit.retentionIntervalSeconds`.
package struct RetentionService: Service {
    let resources: ServiceResources
    let job: RetentionJob
    let interval: Duration

    package init(resources: ServiceResources, configuration: AuditIngestor.Configuration, schema: String = AuditService.schema) {
        self.resources = resources
        self.job = RetentionJob(client: resources.postgres, schema: schema, defaultDays: configuration.retentionDays)
        self.interval = configuration.retentionInterval
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                _ = try await self.job.prune(logger: self.resources.logger)
            } catch {
                self.resources.logger.warning(
                    "audit retention run failed; retried next interval",
                    metadata: ["error.type": "\(String(reflecting: error))"]
                )
            }
            try? await Task.sleep(for: self.interval)
        }
    }
}
