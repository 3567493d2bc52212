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
            let configuration = try AuditIngestor.Configuration(config: resources.config)
            return ServiceComponents(
                services: [
                    AuditIngestor(resources: resources, configuration: configuration),
                    RetentionService(resources: resources, configuration: configuration),
                ]
            )
        }
    )
}
