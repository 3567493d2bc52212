import GatehouseWire
public import ServiceKit

/// The `access` service: its schema, migrations and components.
public enum AccessService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "access"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata
    ]

    public static let definition = ServiceDefinition(
        name: .access,
        schema: schema,
        migrations: migrations,
        build: { _ in ServiceComponents() }
    )
}
