import GatehouseWire
public import ServiceKit

/// The `access` service: its schema, migrations and components.
public enum AccessService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "access"

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
        name: .access,
        schema: schema,
        migrations: migrations,
        build: { _ in ServiceComponents() }
    )
}
