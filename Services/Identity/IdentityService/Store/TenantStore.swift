import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO

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

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    /// Creates the tenant, or returns the existing one with that slug (idempotent by slug).
    package func ensure(slug: String, name: String, defaultTimeZone: String = "UTC", logger: Logger) async throws -> Tenant {
        var bindings = PostgresBindings()
        bindings.append(UUID())
        bindings.append(slug)
        bindings.append(name)
        bindings.append(defaultTimeZone)
        let rows = try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).tenants (id, slug, name, default_time_zone) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
                    RETURNING id, slug, name, default_time_zone
                    """,
                binds: bindings
            ),
            logger: logger
        )
        for try await (id, slug, name, zone) in rows.decode((UUID, String, String, String).self) {
            return Tenant(id: TenantID(id), slug: slug, name: name, defaultTimeZone: zone)
        }
        throw StoreInvariantViolated(message: "upsert of tenant \(slug) returned no row")
    }
}

/// A query that must return a row returned none: a bug, never the caller's fault.
package struct StoreInvariantViolated: Error, CustomStringConvertible {
    package var message: String
    package var description: String { self.message }
}
