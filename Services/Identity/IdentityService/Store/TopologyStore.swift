package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// A site as the API shows it.
package struct SiteResource: Codable, Sendable, Hashable {
    package var id: String
    package var name: String
    package var timeZone: String
    package var sipDomain: String
    package var version: Int
}

/// A building as the API shows it.
package struct BuildingResource: Codable, Sendable, Hashable {
    package var id: String
    package var siteId: String
    package var name: String
    package var version: Int
}

/// A unit as the API shows it, with its residents (ids and roles only).
package struct UnitResource: Codable, Sendable, Hashable {
    package struct Resident: Codable, Sendable, Hashable {
        package var personId: String
        package var role: String
    }

    package var id: String
    package var siteId: String
    package var buildingId: String
    package var dialNumber: String
    package var floor: String?
    package var ringSeconds: Int
    package var version: Int
    package var residents: [Resident]?
}

package enum TopologyStoreError: Error, Hashable {
    /// A unique natural key is taken (`field` names it).
    case taken(field: String)
    /// A referenced parent does not exist in the tenant.
    case unknownReference(field: String)
    /// The resource changed since the version the caller read (`current` is its version now).
    case versionMismatch(current: Int)
    /// The resource is still used (`detail` says by what), so it is not deleted.
    case inUse(detail: String)
}

/// Sites, buildings and units for the admin API; every query is scoped to the tenant.
package struct TopologyStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    /// Most sites, buildings or doors a list returns (units page with a cursor).
    package static let maxListed = 1000

    func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            do {
                return try await body()
            } catch let error as PostgresTransactionError {
                throw error.closureError ?? error
            }
        } catch let error as PSQLError {
            switch error.serverInfo?[.sqlState] {
            case "23505":
                let constraint = error.serverInfo?[.constraintName] ?? ""
                throw TopologyStoreError.taken(
                    field: constraint.contains("sip_domain") ? "sipDomain" : constraint.contains("dial_number") ? "dialNumber" : "name"
                )
            case "23503": throw TopologyStoreError.unknownReference(field: "buildingId")
            default: throw error
            }
        }
    }

    // MARK: Sites

    /// The tenant's sites in name order, after the name `after` when given (at most `limit`).
    package func sites(tenant: TenantID, after: String? = nil, limit: Int = maxListed, logger: Logger) async throws -> [SiteResource] {
        var binds = PostgresBindings(tenant.rawValue)
        if let after { binds.append(after) } else { binds.appendNull() }
        return try await self.siteQuery(
            "tenant_id = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT \(max(1, min(limit, Self.maxListed + 1)))",
            binds,
            logger
        )
    }

    package func site(tenant: TenantID, id: UUID, logger: Logger) async throws -> SiteResource? {
        try await self.siteQuery("tenant_id = $1 AND id = $2", PostgresBindings(tenant.rawValue, id), logger).first
    }

    private func siteQuery(_ condition: String, _ binds: PostgresBindings, _ logger: Logger) async throws -> [SiteResource] {
        var sites: [SiteResource] = []
        for try await (id, name, zone, domain, version) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT id, name, time_zone, sip_domain, version FROM \(self.schema).sites WHERE \(condition)",
                binds: binds
            ),
            logger: logger
        ).decode((UUID, String, String, String, Int).self) {
            sites.append(SiteResource(id: id.lowercasedString, name: name, timeZone: zone, sipDomain: domain, version: version))
        }
        return sites
    }

    package func createSite(tenant: TenantID, name: String, timeZone: String, sipDomain: String, logger: Logger) async throws -> SiteResource {
        let id = UUID()
        let site = SiteResource(id: id.lowercasedString, name: name, timeZone: timeZone, sipDomain: sipDomain.lowercased(), version: 1)
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(self.schema).sites (id, tenant_id, name, time_zone, sip_domain) VALUES ($1, $2, $3, $4, $5)",
                        binds: PostgresBindings(id, tenant.rawValue, name, timeZone, sipDomain.lowercased())
                    ),
                    logger: logger
                )
                try await self.announce(Created.self, site, tenant: tenant, on: connection, logger: logger)
            }
        }
        return site
    }

    /// Changes a site's name or time zone if it is still at `expectedVersion` (nil fields stay), and
    /// announces it (`site_updated`: signaling then forgets the site's SIP accounts and plans). Nil
    /// when the site is not the tenant's. The SIP domain is fixed: the devices' digests are made with it.
    package func updateSite(
        tenant: TenantID,
        id: UUID,
        expectedVersion: Int,
        name: String?,
        timeZone: String?,
        logger: Logger
    ) async throws -> SiteResource? {
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                guard var site = try await self.site(tenant: tenant, id: id, on: connection, logger: logger) else { return nil }
                guard site.version == expectedVersion else { throw TopologyStoreError.versionMismatch(current: site.version) }
                site.name = name ?? site.name
                site.timeZone = timeZone ?? site.timeZone
                site.version += 1
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "UPDATE \(self.schema).sites SET name = $3, time_zone = $4, version = $5 WHERE tenant_id = $1 AND id = $2",
                        binds: PostgresBindings(tenant.rawValue, id, site.name, site.timeZone, site.version)
                    ),
                    logger: logger
                )
                try await self.announce(Updated.self, site, tenant: tenant, on: connection, logger: logger)
                return site
            }
        }
    }

    /// Deletes a site with nothing in it (no buildings, doors, units or devices), and announces it
    /// (`site_deleted`). False when the site is not the tenant's.
    package func deleteSite(tenant: TenantID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                guard let site = try await self.site(tenant: tenant, id: id, on: connection, logger: logger) else { return false }
                try await self.refuseIfUsed(
                    "the site",
                    [
                        ("building(s)", "buildings WHERE tenant_id = $1 AND site_id = $2"),
                        ("door(s)", "doors WHERE tenant_id = $1 AND site_id = $2"),
                        ("device(s)", "devices WHERE tenant_id = $1 AND site_id = $2 AND revoked_at IS NULL"),
                    ],
                    tenant: tenant,
                    id: id,
                    on: connection,
                    logger: logger
                )
                // What remains refers to the site only as history: revoked devices and site fallbacks.
                for statement in [
                    "DELETE FROM \(self.schema).ring_fallbacks WHERE tenant_id = $1 AND site_id = $2",
                    "DELETE FROM \(self.schema).devices WHERE tenant_id = $1 AND site_id = $2 AND revoked_at IS NOT NULL",
                    "DELETE FROM \(self.schema).sites WHERE tenant_id = $1 AND id = $2",
                ] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement, binds: PostgresBindings(tenant.rawValue, id)), logger: logger)
                }
                try await self.removeFromStaffPlaces(column: "site_ids", id, tenant: tenant, on: connection, logger: logger)
                try await self.announce(Deleted.self, site, tenant: tenant, on: connection, logger: logger)
                return true
            }
        }
    }

    private func site(tenant: TenantID, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> SiteResource? {
        for try await (name, zone, domain, version) in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT name, time_zone, sip_domain, version FROM \(self.schema).sites WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ).decode((String, String, String, Int).self) {
            return SiteResource(id: id.lowercasedString, name: name, timeZone: zone, sipDomain: domain, version: version)
        }
        return nil
    }

    /// Takes a deleted site or building out of the places of the staff who had it (`site_ids` or
    /// `building_ids`), so no token names it again; each of them changes version and is announced.
    private func removeFromStaffPlaces(
        column: String,
        _ id: UUID,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let people = PeopleStore(client: self.client, schema: self.schema, outbox: self.outbox)
        for try await (person, kind, role, version) in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).people SET \(column) = array_remove(\(column), $2), version = version + 1, updated_at = now()
                    WHERE tenant_id = $1 AND $2 = ANY(\(column))
                    RETURNING id, kind, staff_role, version
                    """,
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ).decode((UUID, String, String?, Int).self) {
            try await people.announce(
                Updated.self,
                PersonDocument(id: person, kind: kind, staffRole: role, version: version),
                tenant: tenant,
                on: connection,
                logger: logger
            )
        }
    }

    /// Throws ``TopologyStoreError/inUse(detail:)`` naming what still refers to `what`: each use is a
    /// label and a `FROM …` clause over `$1` (the tenant) and `$2` (the id).
    private func refuseIfUsed(
        _ what: String,
        _ uses: [(label: String, from: String)],
        tenant: TenantID,
        id: UUID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let counts = uses.map { "(SELECT count(*)::int FROM \(self.schema).\($0.from))" }.joined(separator: ", ")
        for try await row in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT ARRAY[\(counts)]", binds: PostgresBindings(tenant.rawValue, id)),
            logger: logger
        ).decode([Int].self) {
            let used = zip(uses, row).filter { $0.1 > 0 }.map { "\($0.1) \($0.0.label)" }
            guard used.isEmpty else {
                throw TopologyStoreError.inUse(detail: "\(what) still has \(used.joined(separator: ", ")): remove them first")
            }
        }
    }

    // MARK: Buildings

    /// Renames a building if it is still at `expectedVersion`, and announces it (`building_updated`).
    /// Nil when the building is not the tenant's.
    package func updateBuilding(tenant: TenantID, id: UUID, expectedVersion: Int, name: String, logger: Logger) async throws -> BuildingResource? {
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                guard let current = try await self.building(tenant: tenant, id: id, on: connection, logger: logger) else { return nil }
                guard current.version == expectedVersion else { throw TopologyStoreError.versionMismatch(current: current.version) }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "UPDATE \(self.schema).buildings SET name = $3, version = version + 1 WHERE tenant_id = $1 AND id = $2",
                        binds: PostgresBindings(tenant.rawValue, id, name)
                    ),
                    logger: logger
                )
                let building = BuildingResource(id: current.id, siteId: current.siteId, name: name, version: current.version + 1)
                try await self.announce(Updated.self, building, tenant: tenant, on: connection, logger: logger)
                return building
            }
        }
    }

    /// Deletes a building without units, doors or devices, and announces it (`building_deleted`).
    /// False when the building is not the tenant's.
    package func deleteBuilding(tenant: TenantID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                guard let building = try await self.building(tenant: tenant, id: id, on: connection, logger: logger) else { return false }
                try await self.refuseIfUsed(
                    "the building",
                    [
                        ("unit(s)", "units WHERE tenant_id = $1 AND building_id = $2"),
                        ("door(s)", "doors WHERE tenant_id = $1 AND building_id = $2"),
                    ],
                    tenant: tenant,
                    id: id,
                    on: connection,
                    logger: logger
                )
                for statement in [
                    "DELETE FROM \(self.schema).ring_fallbacks WHERE tenant_id = $1 AND building_id = $2",
                    "DELETE FROM \(self.schema).buildings WHERE tenant_id = $1 AND id = $2",
                ] {
                    try await connection.query(PostgresQuery(unsafeSQL: statement, binds: PostgresBindings(tenant.rawValue, id)), logger: logger)
                }
                try await self.removeFromStaffPlaces(column: "building_ids", id, tenant: tenant, on: connection, logger: logger)
                try await self.announce(Deleted.self, building, tenant: tenant, on: connection, logger: logger)
                return true
            }
        }
    }

    /// One building of the tenant.
    package func building(tenant: TenantID, id: UUID, logger: Logger) async throws -> BuildingResource? {
        try await self.client.withConnection { connection in try await self.building(tenant: tenant, id: id, on: connection, logger: logger) }
    }

    private func building(tenant: TenantID, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> BuildingResource? {
        for try await (site, name, version) in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT site_id, name, version FROM \(self.schema).buildings WHERE tenant_id = $1 AND id = $2",
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ).decode((UUID, String, Int).self) {
            return BuildingResource(id: id.lowercasedString, siteId: site.lowercasedString, name: name, version: version)
        }
        return nil
    }

    /// The site's buildings in name order, after the name `after` when given (at most `limit`).
    package func buildings(
        tenant: TenantID,
        site: UUID,
        after: String? = nil,
        limit: Int = maxListed,
        logger: Logger
    ) async throws -> [BuildingResource] {
        var buildings: [BuildingResource] = []
        var binds = PostgresBindings(tenant.rawValue, site)
        if let after { binds.append(after) } else { binds.appendNull() }
        for try await (id, name, version) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT id, name, version FROM \(self.schema).buildings WHERE tenant_id = $1 AND site_id = $2
                      AND ($3::text IS NULL OR name > $3)
                    ORDER BY name LIMIT \(max(1, min(limit, Self.maxListed + 1)))
                    """,
                binds: binds
            ),
            logger: logger
        ).decode((UUID, String, Int).self) {
            buildings.append(BuildingResource(id: id.lowercasedString, siteId: site.lowercasedString, name: name, version: version))
        }
        return buildings
    }

    package func createBuilding(tenant: TenantID, site: UUID, name: String, logger: Logger) async throws -> BuildingResource {
        let id = UUID()
        let building = BuildingResource(id: id.lowercasedString, siteId: site.lowercasedString, name: name, version: 1)
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(self.schema).buildings (id, tenant_id, site_id, name) VALUES ($1, $2, $3, $4)",
                        binds: PostgresBindings(id, tenant.rawValue, site, name)
                    ),
                    logger: logger
                )
                try await self.announce(Created.self, building, tenant: tenant, on: connection, logger: logger)
            }
        }
        return building
    }

    // MARK: Units

    static let unitColumns = "id, site_id, building_id, dial_number, floor, ring_seconds, version"

    static func unit(_ row: (UUID, UUID, UUID, String, String?, Int, Int)) -> UnitResource {
        UnitResource(
            id: row.0.lowercasedString,
            siteId: row.1.lowercasedString,
            buildingId: row.2.lowercasedString,
            dialNumber: row.3,
            floor: row.4,
            ringSeconds: row.5,
            version: row.6
        )
    }

    /// A page of a site's units in dial-number order after `after`.
    package func units(tenant: TenantID, site: UUID, after: String?, limit: Int, logger: Logger) async throws -> [UnitResource] {
        var binds = PostgresBindings(tenant.rawValue, site)
        var condition = "tenant_id = $1 AND site_id = $2"
        if let after {
            binds.append(after)
            condition += " AND dial_number > $3"
        }
        var units: [UnitResource] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.unitColumns) FROM \(self.schema).units WHERE \(condition)
                    ORDER BY dial_number COLLATE "C" LIMIT \(max(1, min(limit, 501)))
                    """,
                binds: binds
            ),
            logger: logger
        ).decode((UUID, UUID, UUID, String, String?, Int, Int).self) {
            units.append(Self.unit(row))
        }
        return units
    }

    /// One unit with its residents.
    package func unit(tenant: TenantID, id: UUID, logger: Logger) async throws -> UnitResource? {
        try await self.client.withConnection { connection in
            var unit: UnitResource?
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT \(Self.unitColumns) FROM \(self.schema).units WHERE tenant_id = $1 AND id = $2",
                    binds: PostgresBindings(tenant.rawValue, id)
                ),
                logger: logger
            ).decode((UUID, UUID, UUID, String, String?, Int, Int).self) {
                unit = Self.unit(row)
            }
            guard var unit else { return nil }
            var residents: [UnitResource.Resident] = []
            for try await (person, role) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT person_id, role FROM \(self.schema).unit_residents WHERE tenant_id = $1 AND unit_id = $2 ORDER BY person_id",
                    binds: PostgresBindings(tenant.rawValue, id)
                ),
                logger: logger
            ).decode((UUID, String).self) {
                residents.append(.init(personId: person.lowercasedString, role: role))
            }
            unit.residents = residents
            return unit
        }
    }

    package func createUnit(
        tenant: TenantID,
        site: UUID,
        building: UUID,
        dialNumber: String,
        floor: String?,
        ringSeconds: Int,
        logger: Logger
    ) async throws -> UnitResource {
        let id = UUID()
        let unit = UnitResource(
            id: id.lowercasedString,
            siteId: site.lowercasedString,
            buildingId: building.lowercasedString,
            dialNumber: dialNumber,
            floor: floor,
            ringSeconds: ringSeconds,
            version: 1,
            residents: []
        )
        var binds = PostgresBindings(id, tenant.rawValue, site, building, dialNumber)
        if let floor { binds.append(floor) } else { binds.appendNull() }
        binds.append(ringSeconds)
        let inserted = try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                var inserted = false
                for try await _ in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).units (id, tenant_id, site_id, building_id, dial_number, floor, ring_seconds)
                            SELECT $1, $2, $3, $4, $5, $6, $7
                            WHERE EXISTS (SELECT 1 FROM \(self.schema).buildings WHERE tenant_id = $2 AND site_id = $3 AND id = $4)
                            RETURNING 1
                            """,
                        binds: binds
                    ),
                    logger: logger
                ) {
                    inserted = true
                }
                if inserted { try await self.announce(Created.self, unit, tenant: tenant, on: connection, logger: logger) }
                return inserted
            }
        }
        if !inserted { throw TopologyStoreError.unknownReference(field: "buildingId") }
        return unit
    }

    /// What a unit's change may set (JSON merge-patch: nil leaves a field as it is).
    package struct UnitChange: Sendable {
        package var buildingId: UUID?
        package var dialNumber: String?
        /// `.some(nil)` clears the floor.
        package var floor: String??
        package var ringSeconds: Int?

        package init(buildingId: UUID? = nil, dialNumber: String? = nil, floor: String?? = nil, ringSeconds: Int? = nil) {
            self.buildingId = buildingId
            self.dialNumber = dialNumber
            self.floor = floor
            self.ringSeconds = ringSeconds
        }
    }

    /// Changes a unit if it is still at `expectedVersion`, and announces it (`unit_updated`). Nil
    /// when the unit is not the tenant's. A new building must be of the unit's site.
    package func updateUnit(
        tenant: TenantID,
        id: UUID,
        expectedVersion: Int,
        _ change: UnitChange,
        logger: Logger
    ) async throws -> UnitResource? {
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                var current: UnitResource?
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT \(Self.unitColumns) FROM \(self.schema).units WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                        binds: PostgresBindings(tenant.rawValue, id)
                    ),
                    logger: logger
                ).decode((UUID, UUID, UUID, String, String?, Int, Int).self) {
                    current = Self.unit(row)
                }
                guard var unit = current else { return nil }
                guard unit.version == expectedVersion else { throw TopologyStoreError.versionMismatch(current: unit.version) }
                if let building = change.buildingId { unit.buildingId = building.lowercasedString }
                if let dial = change.dialNumber { unit.dialNumber = dial }
                if let floor = change.floor { unit.floor = floor }
                if let ring = change.ringSeconds { unit.ringSeconds = ring }
                unit.version += 1
                var binds = PostgresBindings(tenant.rawValue, id, UUID(uuidString: unit.buildingId)!, unit.dialNumber)
                if let floor = unit.floor { binds.append(floor) } else { binds.appendNull() }
                binds.append(unit.ringSeconds)
                var updated = false
                for try await _ in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            UPDATE \(self.schema).units u SET building_id = $3, dial_number = $4, floor = $5, ring_seconds = $6,
                                version = version + 1
                            WHERE u.tenant_id = $1 AND u.id = $2
                              AND EXISTS (SELECT 1 FROM \(self.schema).buildings b WHERE b.tenant_id = $1 AND b.site_id = u.site_id AND b.id = $3)
                            RETURNING 1
                            """,
                        binds: binds
                    ),
                    logger: logger
                ) {
                    updated = true
                }
                guard updated else { throw TopologyStoreError.unknownReference(field: "buildingId") }
                try await self.announce(Updated.self, unit, tenant: tenant, on: connection, logger: logger)
                unit.residents = nil
                return unit
            }
        }
    }

    /// Deletes a unit nobody lives in and no device rings for, and announces it (`unit_deleted`).
    /// False when the unit is not the tenant's; ``TopologyStoreError/inUse(detail:)`` while residents
    /// or devices remain. Revoked devices keep their history without the unit.
    package func deleteUnit(tenant: TenantID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.mapErrors {
            try await self.client.withTransaction(logger: logger) { connection in
                var found: (unit: UnitResource, residents: Int, devices: Int)?
                for try await (a, b, c, d, e, f, g, residents, devices) in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT \(Self.unitColumns),
                                   (SELECT count(*)::int FROM \(self.schema).unit_residents r WHERE r.tenant_id = u.tenant_id AND r.unit_id = u.id),
                                   (SELECT count(*)::int FROM \(self.schema).devices d
                                     WHERE d.tenant_id = u.tenant_id AND d.unit_id = u.id AND d.revoked_at IS NULL)
                            FROM \(self.schema).units u WHERE u.tenant_id = $1 AND u.id = $2 FOR UPDATE
                            """,
                        binds: PostgresBindings(tenant.rawValue, id)
                    ),
                    logger: logger
                ).decode((UUID, UUID, UUID, String, String?, Int, Int, Int, Int).self) {
                    found = (Self.unit((a, b, c, d, e, f, g)), residents, devices)
                }
                guard let found else { return false }
                guard found.residents == 0, found.devices == 0 else {
                    throw TopologyStoreError.inUse(
                        detail: "the unit has \(found.residents) resident(s) and \(found.devices) device(s): move them out and revoke them first"
                    )
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "UPDATE \(self.schema).devices SET unit_id = NULL WHERE tenant_id = $1 AND unit_id = $2",
                        binds: PostgresBindings(tenant.rawValue, id)
                    ),
                    logger: logger
                )
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "DELETE FROM \(self.schema).units WHERE tenant_id = $1 AND id = $2",
                        binds: PostgresBindings(tenant.rawValue, id)
                    ),
                    logger: logger
                )
                try await self.announce(Deleted.self, found.unit, tenant: tenant, on: connection, logger: logger)
                return true
            }
        }
    }

    /// Adds (or changes the role of) a resident of a unit, and announces it (`residency_updated`).
    /// False when the unit or the person is not the tenant's (or the person was erased).
    package func setResident(tenant: TenantID, unit: UUID, person: UUID, role: String, logger: Logger) async throws -> Bool {
        try await self.client.withTransaction(logger: logger) { connection in
            var changed = false
            for try await _ in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(self.schema).unit_residents (tenant_id, unit_id, person_id, role)
                        SELECT $1, u.id, p.id, $4 FROM \(self.schema).units u, \(self.schema).people p
                        WHERE u.tenant_id = $1 AND u.id = $2 AND p.tenant_id = $1 AND p.id = $3 AND p.erased_at IS NULL
                        ON CONFLICT (unit_id, person_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
                        RETURNING 1
                        """,
                    binds: PostgresBindings(tenant.rawValue, unit, person, role)
                ),
                logger: logger
            ) {
                changed = true
            }
            if changed {
                try await self.announce(
                    ResidencyUpdated(ResidencyDocument(unitId: unit, personId: person, role: role)),
                    tenant: tenant,
                    on: connection,
                    logger: logger
                )
            }
            return changed
        }
    }

    /// What ending a residency found.
    package enum Removal: Sendable, Hashable {
        /// The person lived there and no longer does (announced as `residency_removed`).
        case removed
        /// The unit and the person are the tenant's, but the person did not live there.
        case notResident
        /// The unit or the person is not the tenant's.
        case unknown
    }

    /// Ends a residency (a move-out), and announces it (`residency_removed`): the unit no longer
    /// rings the person's own devices (devices registered to the unit itself ring on).
    package func removeResident(tenant: TenantID, unit: UUID, person: UUID, logger: Logger) async throws -> Removal {
        try await self.client.withTransaction(logger: logger) { connection in
            var removal = Removal.unknown
            for try await (role, known) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH gone AS (
                            DELETE FROM \(self.schema).unit_residents WHERE tenant_id = $1 AND unit_id = $2 AND person_id = $3
                            RETURNING role
                        )
                        SELECT (SELECT role FROM gone),
                               EXISTS (SELECT 1 FROM \(self.schema).units WHERE tenant_id = $1 AND id = $2)
                               AND EXISTS (SELECT 1 FROM \(self.schema).people WHERE tenant_id = $1 AND id = $3)
                        """,
                    binds: PostgresBindings(tenant.rawValue, unit, person)
                ),
                logger: logger
            ).decode((String?, Bool).self) {
                if let role {
                    removal = .removed
                    try await self.announce(
                        ResidencyRemoved(ResidencyDocument(unitId: unit, personId: person, role: role)),
                        tenant: tenant,
                        on: connection,
                        logger: logger
                    )
                } else if known {
                    removal = .notResident
                }
            }
            return removal
        }
    }

    /// Announces a change of `site` in the transaction that made it (the outbox, decision 0008).
    private func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ site: SiteResource,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let id = UUID(uuidString: site.id)!
        try await self.outbox.enqueue(
            IdentityChanged<SiteDocument, Change>(
                SiteDocument(id: id, name: site.name, timeZone: site.timeZone, sipDomain: site.sipDomain, version: site.version)
            ),
            tenant: tenant,
            subject: "site/\(site.id)",
            context: EventContext(site: id),
            on: connection,
            logger: logger
        )
    }

    /// Announces a change of `building` in the transaction that made it.
    private func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ building: BuildingResource,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let (id, site) = (UUID(uuidString: building.id)!, UUID(uuidString: building.siteId)!)
        try await self.outbox.enqueue(
            IdentityChanged<BuildingDocument, Change>(BuildingDocument(id: id, siteId: site, name: building.name, version: building.version)),
            tenant: tenant,
            subject: "building/\(building.id)",
            context: EventContext(site: site, building: id),
            on: connection,
            logger: logger
        )
    }

    /// Announces a change of `unit` in the transaction that made it.
    private func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ unit: UnitResource,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let (id, site, building) = (UUID(uuidString: unit.id)!, UUID(uuidString: unit.siteId)!, UUID(uuidString: unit.buildingId)!)
        try await self.outbox.enqueue(
            IdentityChanged<UnitDocument, Change>(
                UnitDocument(id: id, siteId: site, buildingId: building, dialNumber: unit.dialNumber, floor: unit.floor, version: unit.version)
            ),
            tenant: tenant,
            subject: "unit/\(unit.id)",
            context: EventContext(site: site, building: building, unit: id),
            on: connection,
            logger: logger
        )
    }

    private func announce<Change: IdentityChangeKind>(
        _ event: IdentityChanged<ResidencyDocument, Change>,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let residency = event.resource
        try await self.outbox.enqueue(
            event,
            tenant: tenant,
            subject: "unit/\(residency.unitId.lowercasedString)/resident/\(residency.personId.lowercasedString)",
            context: EventContext(unit: residency.unitId, person: residency.personId),
            on: connection,
            logger: logger
        )
    }
}
