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
            let keys = AuthKeys()
            let api = AuditAPI(
                client: resources.postgres,
                source: PostgresCopySource(configuration: resources.configuration.postgres, tls: resources.configuration.postgresTLS),
                keyring: configuration.keyring,
                keys: keys
            )
            return ServiceComponents(
                services: [
                    AuditIngestor(resources: resources, configuration: configuration),
                    RetentionService(resources: resources, configuration: configuration),
                    AuthKeyWatcher(nats: resources.nats, keys: keys, logger: resources.logger),
                ],
                routes: { router in api.register(on: router) }
            )
        }
    )
}
