import GatehouseWire
public import ServiceKit

/// The `inference` service: its schema, migrations and components.
public enum InferenceService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "inference"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata
    ]

    public static let definition = ServiceDefinition(
        name: .inference,
        schema: schema,
        migrations: migrations,
        build: { _ in ServiceComponents() }
    )
}
