package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// A tenant: one customer of the deployment.
package struct Tenant: Sendable, Hashable, Codable {
    package var id: TenantID
    package var slug: String
    package var name: String
    package var defaultTimeZone: String
}

/// A tenant as the API shows it.
package struct TenantResource: Codable, Sendable, Hashable {
    package var id: String
    package var slug: String
    package var name: String
    package var defaultTimeZone: String
    package var version: Int
    package var createdAt: Date

    var document: TenantDocument {
        TenantDocument(id: TenantID(self.id)!, slug: self.slug, name: self.name, defaultTimeZone: self.defaultTimeZone, version: self.version)
    }
}

package enum TenantStoreError: Error, Hashable {
    /// Another tenant, live or deleted, has the slug.
    case slugTaken
    /// The tenant was deleted: nothing is created in it again.
    case deleted
}

/// Tenants in the identity schema.
package struct TenantStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    static let columns = "id, slug, name, default_time_zone, version, created_at"

    static func resource(_ row: PostgresRow) throws -> TenantResource {
        let (id, slug, name, zone, version, created) = try row.decode((UUID, String, String, String, Int, Date).self)
        return TenantResource(id: id.lowercasedString, slug: slug, name: name, defaultTimeZone: zone, version: version, createdAt: created)
    }

    /// Live tenants in slug order, after `slug` when given.
    package func list(after slug: String?, limit: Int, logger: Logger) async throws -> [TenantResource] {
        var binds = PostgresBindings(limit)
        if let slug { binds.append(slug) } else { binds.appendNull() }
        var tenants: [TenantResource] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM \(self.schema).tenants
                    WHERE deleted_at IS NULL AND ($2::text IS NULL OR slug > $2) ORDER BY slug LIMIT $1
                    """,
                binds: binds
            ),
            logger: logger
        ) {
            tenants.append(try Self.resource(row))
        }
        return tenants
    }

    /// The live tenant, or nil.
    package func get(_ id: TenantID, logger: Logger) async throws -> TenantResource? {
        try await self.client.withConnection { connection in try await self.live(id, on: connection, lock: false, logger: logger) }
    }

    private func live(_ id: TenantID, on connection: PostgresConnection, lock: Bool, logger: Logger) async throws -> TenantResource? {
        for try await row in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM \(self.schema).tenants WHERE id = $1 AND deleted_at IS NULL\(lock ? " FOR UPDATE" : "")
                    """,
                binds: PostgresBindings(id.rawValue)
            ),
            logger: logger
        ) {
            return try Self.resource(row)
        }
        return nil
    }

    /// A new tenant (`identity.tenant_created`); ``TenantStoreError/slugTaken`` when any tenant,
    /// deleted ones included, has the slug.
    package func create(slug: String, name: String, defaultTimeZone: String, logger: Logger) async throws -> TenantResource {
        let id = UUID()
        return try await self.client.transaction(logger: logger) { connection in
            var created: TenantResource?
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(self.schema).tenants (id, slug, name, default_time_zone) VALUES ($1, $2, $3, $4)
                        ON CONFLICT (slug) DO NOTHING RETURNING \(Self.columns)
                        """,
                    binds: PostgresBindings(id, slug, name, defaultTimeZone)
                ),
                logger: logger
            ) {
                created = try Self.resource(row)
            }
            guard let created else { throw TenantStoreError.slugTaken }
            try await self.announce(Created.self, created, on: connection, logger: logger)
            return created
        }
    }

    /// Changes the name or default time zone (nil stays) if the tenant is still at
    /// `expectedVersion` (`identity.tenant_updated`). Nil for no live tenant; the slug is fixed
    /// (people log in with it).
    package func update(
        _ id: TenantID,
        expectedVersion: Int,
        name: String?,
        defaultTimeZone: String?,
        logger: Logger
    ) async throws -> TenantResource? {
        try await self.client.transaction(logger: logger) { connection in
            guard var tenant = try await self.live(id, on: connection, lock: true, logger: logger) else { return nil }
            guard tenant.version == expectedVersion else { throw TopologyStoreError.versionMismatch(current: tenant.version) }
            tenant.name = name ?? tenant.name
            tenant.defaultTimeZone = defaultTimeZone ?? tenant.defaultTimeZone
            tenant.version += 1
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(self.schema).tenants SET name = $2, default_time_zone = $3, version = $4, updated_at = now() WHERE id = $1
                        """,
                    binds: PostgresBindings(id.rawValue, tenant.name, tenant.defaultTimeZone, tenant.version)
                ),
                logger: logger
            )
            try await self.announce(Updated.self, tenant, on: connection, logger: logger)
            return tenant
        }
    }

    /// Deletes a tenant that has no sites and no people left but erased ones
    /// (``TopologyStoreError/inUse(detail:)`` otherwise): its API keys are revoked, it is marked
    /// deleted (its slug stays taken, its erased people and audit records keep their ids) and
    /// `identity.tenant_deleted` is announced. `false` when there is no live tenant `id`.
    package func delete(_ id: TenantID, logger: Logger) async throws -> Bool {
        try await self.client.transaction(logger: logger) { connection in
            // The row lock makes a concurrent site, person or key insert wait and then fail.
            guard let tenant = try await self.live(id, on: connection, lock: true, logger: logger) else { return false }
            for try await (sites, people) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT (SELECT count(*)::int FROM \(self.schema).sites WHERE tenant_id = $1),
                               (SELECT count(*)::int FROM \(self.schema).people WHERE tenant_id = $1 AND erased_at IS NULL)
                        """,
                    binds: PostgresBindings(id.rawValue)
                ),
                logger: logger
            ).decode((Int, Int).self) {
                let left = [(sites, "site(s)"), (people, "person(s) not erased")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
                guard left.isEmpty else {
                    throw TopologyStoreError.inUse(detail: "the tenant still has \(left.joined(separator: ", ")): remove them first")
                }
            }
            let keys = APIKeyStore(client: self.client, schema: self.schema, outbox: self.outbox)
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(self.schema).api_keys SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL
                        RETURNING \(APIKeyStore.columns)
                        """,
                    binds: PostgresBindings(id.rawValue)
                ),
                logger: logger
            ) {
                try await keys.announce(Revoked.self, try APIKeyStore.key(row), on: connection, logger: logger)
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "UPDATE \(self.schema).tenants SET deleted_at = now(), updated_at = now() WHERE id = $1",
                    binds: PostgresBindings(id.rawValue)
                ),
                logger: logger
            )
            try await self.announce(Deleted.self, tenant, on: connection, logger: logger)
            return true
        }
    }

    private func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ tenant: TenantResource,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await self.outbox.enqueue(
            IdentityChanged<TenantDocument, Change>(tenant.document),
            tenant: TenantID(tenant.id)!,
            subject: "tenant/\(tenant.id)",
            on: connection,
            logger: logger
        )
    }

    /// Creates the tenant, or returns the existing one with that slug (idempotent by slug).
    package func ensure(slug: String, name: String, defaultTimeZone: String = "UTC", logger: Logger) async throws -> Tenant {
        let bindings = PostgresBindings(UUID(), slug, name, defaultTimeZone)
        do {
            return try await self.client.withTransaction(logger: logger) { connection in
                var found: (TenantResource, inserted: Bool)?
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).tenants (id, slug, name, default_time_zone) VALUES ($1, $2, $3, $4)
                            ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
                            RETURNING \(Self.columns), xmax = 0, deleted_at IS NOT NULL
                            """,
                        binds: bindings
                    ),
                    logger: logger
                ) {
                    let cells = row.makeRandomAccess()
                    guard try !cells[7].decode(Bool.self) else { throw TenantStoreError.deleted }
                    found = (try Self.resource(row), try cells[6].decode(Bool.self))
                }
                guard let (tenant, inserted) = found else {
                    throw StoreInvariantViolated(message: "upsert of tenant \(slug) returned no row")
                }
                if inserted { try await self.announce(Created.self, tenant, on: connection, logger: logger) }
                return Tenant(id: TenantID(tenant.id)!, slug: tenant.slug, name: tenant.name, defaultTimeZone: tenant.defaultTimeZone)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}

/// A query that must return a row returned none: a bug, never the caller's fault.
package struct StoreInvariantViolated: Error, CustomStringConvertible {
    package var message: String
    package var description: String { self.message }
}

/// A site: one property, with its time zone and the SIP domain its door stations and phones use.
package struct Site: Sendable, Hashable, Codable {
    package var id: UUID
    package var tenantID: TenantID
    package var name: String
    package var timeZone: String
    package var sipDomain: String
}

/// Sites in the identity schema.
package struct SiteStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    /// Creates the site, or sets the time zone and SIP domain of the tenant's site with that name;
    /// announces a creation or a change (`identity.site_created`, `identity.site_updated`).
    package func ensure(tenant: TenantID, name: String, timeZone: String, sipDomain: String, logger: Logger) async throws -> Site {
        let domain = sipDomain.lowercased()
        do {
            return try await self.client.withTransaction(logger: logger) { connection in
                var written: (id: UUID, version: Int)?
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).sites (id, tenant_id, name, time_zone, sip_domain) VALUES ($1, $2, $3, $4, $5)
                            ON CONFLICT (tenant_id, name) DO UPDATE
                                SET time_zone = EXCLUDED.time_zone, sip_domain = EXCLUDED.sip_domain,
                                    version = sites.version + 1, updated_at = now()
                                WHERE (sites.time_zone, sites.sip_domain) IS DISTINCT FROM (EXCLUDED.time_zone, EXCLUDED.sip_domain)
                            RETURNING id, version
                            """,
                        binds: PostgresBindings(UUID(), tenant.rawValue, name, timeZone, domain)
                    ),
                    logger: logger
                ).decode((UUID, Int).self) {
                    written = row
                }
                if let written {
                    let document = SiteDocument(id: written.id, name: name, timeZone: timeZone, sipDomain: domain, version: written.version)
                    let subject = "site/\(written.id.lowercasedString)"
                    if written.version == 1 {
                        try await self.outbox.enqueue(
                            SiteCreated(document),
                            tenant: tenant,
                            subject: subject,
                            context: EventContext(site: written.id),
                            on: connection,
                            logger: logger
                        )
                    } else {
                        try await self.outbox.enqueue(
                            SiteUpdated(document),
                            tenant: tenant,
                            subject: subject,
                            context: EventContext(site: written.id),
                            on: connection,
                            logger: logger
                        )
                    }
                    return Site(id: written.id, tenantID: tenant, name: name, timeZone: timeZone, sipDomain: domain)
                }
                // Unchanged: read it.
                var id: UUID?
                for try await value in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT id FROM \(self.schema).sites WHERE tenant_id = $1 AND name = $2",
                        binds: PostgresBindings(tenant.rawValue, name)
                    ),
                    logger: logger
                ).decode(UUID.self) {
                    id = value
                }
                guard let id else { throw StoreInvariantViolated(message: "site \(name) neither written nor found") }
                return Site(id: id, tenantID: tenant, name: name, timeZone: timeZone, sipDomain: domain)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
