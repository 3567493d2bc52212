import Foundation
import GatehouseWire
public import ServiceKit

/// The `access` service: its schema, migrations and components.
public enum AccessService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "access"

    /// Where access control writes its decisions and door commands' outcomes (decision 0008).
    package static func outbox(schema: String = Self.schema, instance: String = ProcessInfo.processInfo.hostName) -> OutboxWriter {
        OutboxWriter(schema: schema, source: EventSource(service: .access, instance: instance))
    }

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata,
        DoorControllerStore.migration,
        OutboxWriter.migration("0003_outbox"),
        PassStore.migration,
        BruteForceGuard.migration,
    ]

    public static let definition = ServiceDefinition(
        name: .access,
        schema: schema,
        migrations: migrations,
        build: { resources in
            let configuration = try AccessConfiguration(config: resources.config)
            let keys = AuthKeys()
            let http = DoorHTTPClient()
            let controllers = DoorControllerStore(client: resources.postgres, secretKey: configuration.secretKey)
            let outbox = Self.outbox(instance: resources.configuration.instance)
            let commander = DoorCommander(
                bus: resources.bus,
                client: resources.postgres,
                controllers: controllers,
                http: http,
                outbox: outbox,
                settings: SiteSettingsStore(client: resources.postgres, outbox: outbox),
                defaultDeadline: .milliseconds(configuration.commandDeadlineMilliseconds)
            )
            let passes = PassStore(client: resources.postgres, outbox: outbox, secretKey: configuration.secretKey)
            let desk = CredentialDesk(commander: commander, passes: passes, guardian: BruteForceGuard(client: resources.postgres))
            return ServiceComponents(
                handlers: [UnlockDoorHandler(commander: commander), PresentCredentialHandler(desk: desk)],
                services: [
                    http,
                    OutboxRelay(client: resources.postgres, schema: schema, transport: resources.bus.transport, logger: resources.logger),
                    AuthKeyWatcher(nats: resources.nats, keys: keys, logger: resources.logger),
                ],
                routes: { router in
                    DoorsAPI(commander: commander, controllers: controllers, keys: keys).register(on: router)
                    PassesAPI(commander: commander, passes: passes, keys: keys).register(on: router)
                }
            )
        }
    )
}
