import GatehouseWire
public import ServiceKit

/// The `signaling` service: its schema, migrations and components.
public enum SignalingService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "signaling"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration(
            "0001_service_metadata",
            [
                """
                CREATE TABLE IF NOT EXISTS {schema}.service_metadata (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """
            ]
        )
    ]

    public static let definition = ServiceDefinition(
        name: .signaling,
        schema: schema,
        migrations: migrations,
        build: { _ in ServiceComponents() }
    )
}
