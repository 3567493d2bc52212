package import Foundation
package import GatehouseWire
package import Logging
import PostgresNIO
package import ServiceKit

/// A site's call hours (decision 0021): when the site is open or staffed, on its wall clock. Outside
/// them the ring plan's `business` fallbacks are skipped and its `after_hours` ones ring; a site
/// may also skip its units' residents after hours (an office building's tenants have gone home).
package struct CallHoursPolicy: Sendable, Hashable {
    /// Within these windows it is business hours; a holiday of the site counts only through `hol`
    /// windows.
    package var hours: WeeklySchedule
    /// Whether units' residents ring after hours.
    package var unitsRingAfterHours: Bool

    package init(hours: WeeklySchedule, unitsRingAfterHours: Bool = true) {
        self.hours = hours
        self.unitsRingAfterHours = unitsRingAfterHours
    }

    /// What the policy says at `instant`.
    package func state(at instant: Date, timeZone: TimeZone, holidays: HolidayCalendar) -> CallHours {
        CallHours(
            afterHours: !self.hours.contains(instant, timeZone: timeZone, holidays: holidays),
            unitsRingAfterHours: self.unitsRingAfterHours
        )
    }

    /// The API's `{"hours": [windows], "unitsAfterHours": "ring" | "skip"}`.
    package var json: [String: Any] { ["hours": self.hours.json, "unitsAfterHours": self.unitsRingAfterHours ? "ring" : "skip"] }
}

extension PolicyStore {
    /// The site's call hours; nil when it has none (always business hours).
    package func callHours(tenant: TenantID, site: UUID, logger: Logger) async throws -> CallHoursPolicy? {
        try await self.site(tenant: tenant, site: site, logger: logger).callHours
    }

    /// Sets (or with nil removes) the site's call hours.
    package func putCallHours(tenant: TenantID, site: UUID, _ policy: CallHoursPolicy?, by person: UUID?, logger: Logger) async throws {
        let hours = try Self.text(policy?.hours)
        _ = try await self.change(
            tenant: tenant,
            site: site,
            object: "callHours",
            objectId: nil,
            action: policy == nil ? "deleted" : "updated",
            by: person,
            logger: logger
        ) { connection in
            if let policy {
                try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.schema).call_hours (tenant_id, site_id, hours, units_ring_after_hours)
                    VALUES (\(tenant.rawValue), \(site), \(hours), \(policy.unitsRingAfterHours))
                    ON CONFLICT (tenant_id, site_id) DO UPDATE SET hours = excluded.hours,
                        units_ring_after_hours = excluded.units_ring_after_hours, updated_at = now()
                    """,
                    logger: logger
                )
            } else {
                try await connection.query(
                    "DELETE FROM \(unescaped: self.schema).call_hours WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)",
                    logger: logger
                )
            }
        }
    }

    /// Read with the rest of the site's policy (and kept as long).
    func readCallHours(tenant: TenantID, site: UUID, logger: Logger) async throws -> CallHoursPolicy? {
        for try await (hours, units) in try await self.client.query(
            """
            SELECT hours, units_ring_after_hours FROM \(unescaped: self.schema).call_hours
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)
            """,
            logger: logger
        ).decode((String, Bool).self) {
            return CallHoursPolicy(hours: try Self.schedule(hours), unitsRingAfterHours: units)
        }
        return nil
    }

    package static let callHoursMigration = SQLMigration(
        "0010_call_hours",
        [
            """
            CREATE TABLE {schema}.call_hours (
                tenant_id UUID NOT NULL,
                site_id UUID NOT NULL,
                hours TEXT NOT NULL,
                units_ring_after_hours BOOLEAN NOT NULL DEFAULT true,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, site_id)
            )
            """
        ]
    )
}

/// `access.call_hours`: signaling asks, when it routes a door station's call, whether the site is
/// outside its call hours now.
package struct CallHoursHandler: RequestHandler {
    let commander: DoorCommander

    package init(commander: DoorCommander) { self.commander = commander }

    package var method: RPCMethod { CallHoursLookup.method }

    package func handle(_ request: CallHoursLookup, context: MessageContext) async throws -> CallHours {
        let tenant = try context.requiredTenant()
        guard let site = try await self.commander.site(tenant: tenant, id: request.siteId) else {
            throw WireError(code: .notFound, message: "no such site")
        }
        let policy = try await self.commander.policies.site(tenant: tenant, site: site.id, logger: context.logger)
        guard let hours = policy.callHours, let zone = TimeZone(identifier: site.timeZone) else { return CallHours(afterHours: false) }
        return hours.state(at: Date(), timeZone: zone, holidays: policy.holidays)
    }
}
