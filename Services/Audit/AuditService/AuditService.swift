import GatehouseWire
public import ServiceKit

/// The `audit` service: its schema, migrations and components.
public enum AuditService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "audit"

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = AuditMigrations.all

    public static let definition = ServiceDefinition(
        name: .audit,
        schema: schema,
        migrations: migrations,
        build: { resources in
            ServiceComponents(services: [AuditIngestor(resources: resources, configuration: try .init(config: resources.config))])
        }
    )
}
