import GatehouseWire
public import ServiceKit

/// The `signaling` service: its schema, migrations and components.
public enum SignalingService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "signaling"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata
    ]

    public static let definition = ServiceDefinition(
        name: .signaling,
        schema: schema,
        migrations: migrations,
        build: { _ in ServiceComponents() }
    )
}
