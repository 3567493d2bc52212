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

    /// Creates the tenant, or returns the existing one with that slug (idempotent by slug).
    package func ensure(slug: String, name: String, defaultTimeZone: String = "UTC", logger: Logger) async throws -> Tenant {
        let bindings = PostgresBindings(UUID(), slug, name, defaultTimeZone)
        do {
            return try await self.client.withTransaction(logger: logger) { connection in
                var found: (Tenant, inserted: Bool)?
                for try await (id, slug, name, zone, inserted) in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).tenants (id, slug, name, default_time_zone) VALUES ($1, $2, $3, $4)
                            ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
                            RETURNING id, slug, name, default_time_zone, xmax = 0
                            """,
                        binds: bindings
                    ),
                    logger: logger
                ).decode((UUID, String, String, String, Bool).self) {
                    found = (Tenant(id: TenantID(id), slug: slug, name: name, defaultTimeZone: zone), inserted)
                }
                guard let (tenant, inserted) = found else {
                    throw StoreInvariantViolated(message: "upsert of tenant \(slug) returned no row")
                }
                if inserted {
                    try await self.outbox.enqueue(
                        TenantCreated(TenantDocument(id: tenant.id, slug: tenant.slug, name: tenant.name)),
                        tenant: tenant.id,
                        subject: "tenant/\(tenant.id)",
                        on: connection,
                        logger: logger
                    )
                }
                return tenant
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
