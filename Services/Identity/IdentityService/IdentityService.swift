import GatehouseWire
public import ServiceKit

/// The `identity` service: its schema, migrations and components.
public enum IdentityService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "identity"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = IdentityMigrations.all

    public static let definition = ServiceDefinition(
        name: .identity,
        schema: schema,
        migrations: migrations,
        build: { resources in
            let keys = try IssuerKeys(config: resources.config)
            return ServiceComponents(
                services: [KeySetPublisher(resources: resources, keys: keys)],
                routes: { router in keys.register(on: router) }
            )
        }
    )
}
