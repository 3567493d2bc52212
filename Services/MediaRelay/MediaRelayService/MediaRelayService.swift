import GatehouseWire
public import ServiceKit

/// The `media-relay` service: its schema, migrations and components.
public enum MediaRelayService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "media_relay"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata
    ]

    public static let definition = ServiceDefinition(
        name: .mediaRelay,
        schema: schema,
        migrations: migrations,
        build: { _ in ServiceComponents() }
    )
}
