import Foundation
import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// What an import changed (or, for a dry run, would change).
package struct ImportResult: Sendable, Hashable, Codable {
    package struct Counts: Sendable, Hashable, Codable {
        package var created = 0
        package var updated = 0
        package var unchanged = 0

        /// Counts of an upsert of `total` rows, of which `written` came back as inserted/updated.
        init(total: Int, written: (inserted: Int, updated: Int)) {
            self.created = written.inserted
            self.updated = written.updated
            self.unchanged = total - written.inserted - written.updated
        }

        package init() {}
    }

    package var rows = 0
    package var sites = Counts()
    package var buildings = Counts()
    package var units = Counts()
    package var people = Counts()
    package var memberships = Counts()
    package var dryRun = false

    /// True when applying the file again would change nothing.
    package var changedNothing: Bool {
        [self.sites, self.buildings, self.units, self.people, self.memberships].allSatisfy { $0.created == 0 && $0.updated == 0 }
    }
}

/// Where an import is: a phase and the rows of that phase written so far.
package struct ImportProgress: Sendable, Hashable {
    package var phase: String
    package var done: Int
    package var total: Int
}

/// Errors of an import that are the caller's to fix.
package struct ImportError: Error, Hashable, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable { case unknownTenant, invalidFile }
    package var code: Code
    package var problems: [ImportProblem]
    package var description: String { "\(self.code.rawValue): \(self.problems.map(\.description).joined(separator: "; "))" }
}

/// Applies a validated ``ImportPlan`` to one tenant, all-or-nothing, upserting on natural keys:
/// site by name, building by (site, name), unit by (site, dial number), person by e-mail,
/// residence by (unit, person). Rows that already match are not touched (no version bump), so
/// importing the same file twice changes nothing.
package struct ImportStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    /// A dry run does all the work inside the transaction and rolls it back: the counts are exact.
    package func apply(
        _ plan: ImportPlan,
        tenantSlug: String,
        dryRun: Bool,
        logger: Logger,
        progress: @escaping @Sendable (ImportProgress) -> Void = { _ in }
    ) async throws -> ImportResult {
        guard plan.isValid else { throw ImportError(code: .invalidFile, problems: plan.problems) }
        struct RollBack: Error { var result: ImportResult }
        do {
            return try await self.client.withTransaction(logger: logger) { connection in
                var result = try await self.run(plan, tenantSlug: tenantSlug, on: connection, logger: logger, progress: progress)
                result.dryRun = dryRun
                if dryRun { throw RollBack(result: result) }
                if !result.changedNothing { try await self.announce(result, tenantSlug: tenantSlug, on: connection, logger: logger) }
                return result
            }
        } catch let error as PostgresTransactionError {
            if let rollBack = error.closureError as? RollBack { return rollBack.result }
            throw error.closureError ?? error
        }
    }

    /// One `identity.import_completed` for the file, in its transaction (decision 0008).
    private func announce(_ result: ImportResult, tenantSlug: String, on connection: PostgresConnection, logger: Logger) async throws {
        var tenant: UUID?
        for try await id in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT id FROM \(self.schema).tenants WHERE slug = $1", binds: PostgresBindings(tenantSlug)),
            logger: logger
        ).decode(UUID.self) {
            tenant = id
        }
        guard let tenant else { return }
        func counts(_ counts: ImportResult.Counts) -> ImportCompleted.Counts { .init(created: counts.created, updated: counts.updated) }
        try await self.outbox.enqueue(
            ImportCompleted(
                rows: result.rows,
                sites: counts(result.sites),
                buildings: counts(result.buildings),
                units: counts(result.units),
                people: counts(result.people),
                residences: counts(result.memberships)
            ),
            tenant: TenantID(tenant),
            subject: "import",
            on: connection,
            logger: logger
        )
    }

    private func run(
        _ plan: ImportPlan,
        tenantSlug: String,
        on connection: PostgresConnection,
        logger: Logger,
        progress: @Sendable (ImportProgress) -> Void
    ) async throws -> ImportResult {
        let s = self.schema
        var result = ImportResult(rows: plan.rows.count)

        // The tenant, locked: two imports for one tenant run one after the other.
        var tenant: (id: UUID, timeZone: String)?
        for try await row in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT id, default_time_zone FROM \(s).tenants WHERE slug = $1 FOR UPDATE",
                binds: PostgresBindings(tenantSlug)
            ),
            logger: logger
        ).decode((UUID, String).self) {
            tenant = (row.0, row.1)
        }
        guard let tenant else {
            throw ImportError(code: .unknownTenant, problems: [ImportProblem(line: 0, field: "tenant", reason: "no tenant \(tenantSlug)")])
        }

        // Sites.
        let siteNames = Array(Set(plan.rows.map(\.site))).sorted()
        result.sites.created = try await self.count(
            connection,
            """
            INSERT INTO \(s).sites (id, tenant_id, name, time_zone, sip_domain)
            SELECT g.id, $1, g.name, $2, 's-' || substr(replace(g.id::text, '-', ''), 1, 12) || '.' || $3 || '.sip.gatehouse.local'
            FROM (SELECT gen_random_uuid() AS id, name FROM unnest($4::text[]) AS name) g
            ON CONFLICT (tenant_id, name) DO NOTHING
            RETURNING true
            """,
            PostgresBindings(tenant.id, tenant.timeZone, tenantSlug, siteNames),
            logger
        ).inserted
        result.sites.unchanged = siteNames.count - result.sites.created
        progress(ImportProgress(phase: "sites", done: siteNames.count, total: siteNames.count))
        var siteIDs: [String: UUID] = [:]
        for try await (id, name) in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT id, name FROM \(s).sites WHERE tenant_id = $1 AND name = ANY($2::text[])",
                binds: PostgresBindings(tenant.id, siteNames)
            ),
            logger: logger
        ).decode((UUID, String).self) {
            siteIDs[name] = id
        }

        // Buildings.
        let buildingKeys = Array(Set(plan.rows.map { BuildingKey(site: $0.site, name: $0.building) })).sorted {
            ($0.site, $0.name) < ($1.site, $1.name)
        }
        result.buildings.created = try await self.count(
            connection,
            """
            INSERT INTO \(s).buildings (id, tenant_id, site_id, name)
            SELECT gen_random_uuid(), $1, site_id, name FROM unnest($2::uuid[], $3::text[]) AS b (site_id, name)
            ON CONFLICT (site_id, name) DO NOTHING
            RETURNING true
            """,
            PostgresBindings(tenant.id, buildingKeys.map { siteIDs[$0.site]! }, buildingKeys.map(\.name)),
            logger
        ).inserted
        result.buildings.unchanged = buildingKeys.count - result.buildings.created
        progress(ImportProgress(phase: "buildings", done: buildingKeys.count, total: buildingKeys.count))
        var buildingIDs: [BuildingKey: UUID] = [:]
        for try await (id, siteID, name) in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT id, site_id, name FROM \(s).buildings WHERE tenant_id = $1 AND site_id = ANY($2::uuid[])",
                binds: PostgresBindings(tenant.id, Array(siteIDs.values))
            ),
            logger: logger
        ).decode((UUID, UUID, String).self) {
            if let site = siteIDs.first(where: { $0.value == siteID })?.key { buildingIDs[BuildingKey(site: site, name: name)] = id }
        }

        // Units: one per (site, dial number); the first row of a unit decides its building and floor.
        var unitRows: [String: ImportRow] = [:]
        for row in plan.rows where unitRows["\(row.site)\u{0}\(row.unit)"] == nil { unitRows["\(row.site)\u{0}\(row.unit)"] = row }
        let units = unitRows.values.sorted { $0.line < $1.line }
        let unitCounts = try await self.count(
            connection,
            """
            INSERT INTO \(s).units (id, tenant_id, site_id, building_id, dial_number, floor)
            SELECT gen_random_uuid(), $1, site_id, building_id, dial_number, NULLIF(floor, '')
            FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[]) AS u (site_id, building_id, dial_number, floor)
            ON CONFLICT (site_id, dial_number) DO UPDATE
                SET building_id = EXCLUDED.building_id, floor = EXCLUDED.floor, version = units.version + 1, updated_at = now()
                WHERE (units.building_id, units.floor) IS DISTINCT FROM (EXCLUDED.building_id, EXCLUDED.floor)
            RETURNING (xmax = 0)
            """,
            PostgresBindings(
                tenant.id,
                units.map { siteIDs[$0.site]! },
                units.map { buildingIDs[BuildingKey(site: $0.site, name: $0.building)]! },
                units.map(\.unit),
                units.map { $0.floor ?? "" }
            ),
            logger
        )
        result.units = .init(total: units.count, written: unitCounts)
        progress(ImportProgress(phase: "units", done: units.count, total: units.count))

        // People, by e-mail.
        var people: [String: ImportRow.Resident] = [:]
        for row in plan.rows { if let resident = row.resident, people[resident.email] == nil { people[resident.email] = resident } }
        let residents = people.values.sorted { $0.email < $1.email }
        let peopleCounts = try await self.count(
            connection,
            """
            INSERT INTO \(s).people (id, tenant_id, kind, display_name, email, phone)
            SELECT gen_random_uuid(), $1, 'resident', name, email, NULLIF(phone, '')
            FROM unnest($2::text[], $3::text[], $4::text[]) AS p (email, name, phone)
            ON CONFLICT (tenant_id, email) DO UPDATE
                SET display_name = EXCLUDED.display_name, phone = EXCLUDED.phone, version = people.version + 1, updated_at = now()
                WHERE (people.display_name, people.phone) IS DISTINCT FROM (EXCLUDED.display_name, EXCLUDED.phone)
            RETURNING (xmax = 0)
            """,
            PostgresBindings(tenant.id, residents.map(\.email), residents.map(\.name), residents.map { $0.phone ?? "" }),
            logger
        )
        result.people = .init(total: residents.count, written: peopleCounts)
        progress(ImportProgress(phase: "people", done: residents.count, total: residents.count))

        // Residences: (unit, person) with a role.
        let memberships = plan.rows.compactMap { row in row.resident.map { (row, $0) } }
        guard !memberships.isEmpty else { return result }
        let membershipCounts = try await self.count(
            connection,
            """
            INSERT INTO \(s).unit_residents (tenant_id, unit_id, person_id, role)
            SELECT $1, u.id, p.id, m.role
            FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS m (site_id, dial_number, email, role)
            JOIN \(s).units u ON u.site_id = m.site_id AND u.dial_number = m.dial_number
            JOIN \(s).people p ON p.tenant_id = $1 AND p.email = m.email
            ON CONFLICT (unit_id, person_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
                WHERE unit_residents.role IS DISTINCT FROM EXCLUDED.role
            RETURNING (xmax = 0)
            """,
            PostgresBindings(
                tenant.id,
                memberships.map { siteIDs[$0.0.site]! },
                memberships.map(\.0.unit),
                memberships.map(\.1.email),
                memberships.map(\.1.role.rawValue)
            ),
            logger
        )
        result.memberships = .init(total: memberships.count, written: membershipCounts)
        progress(ImportProgress(phase: "residences", done: memberships.count, total: memberships.count))
        return result
    }

    /// Runs an upsert whose `RETURNING` yields one boolean per written row: true = inserted.
    private func count(
        _ connection: PostgresConnection,
        _ sql: String,
        _ bindings: PostgresBindings,
        _ logger: Logger
    ) async throws -> (inserted: Int, updated: Int) {
        var inserted = 0
        var updated = 0
        for try await wasInserted in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).decode(Bool.self) {
            if wasInserted { inserted += 1 } else { updated += 1 }
        }
        return (inserted, updated)
    }
}

private struct BuildingKey: Hashable {
    var site: String
    var name: String
}
