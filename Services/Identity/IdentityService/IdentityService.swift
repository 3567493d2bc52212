import Foundation
import GatehouseAuth
import GatehouseWire
public import ServiceKit

/// The `identity` service: its schema, migrations and components.
public enum IdentityService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "identity"

    /// Where identity's stores write the events announcing their changes (decision 0008), for a
    /// process named `instance`.
    package static func outbox(schema: String = Self.schema, instance: String = ProcessInfo.processInfo.hostName) -> OutboxWriter {
        OutboxWriter(schema: schema, source: EventSource(service: .identity, instance: instance))
    }

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = IdentityMigrations.all

    public static let definition = ServiceDefinition(
        name: .identity,
        schema: schema,
        migrations: migrations,
        build: { resources in
            let issuer = try IssuerKeys(config: resources.config)
            let keys = AuthKeys(issuer.keySet)
            let people = PeopleAPI(client: resources.postgres, keys: keys, bus: resources.bus)
            let logins = AuthAPI(client: resources.postgres, signer: issuer.signer, keys: keys)
            let devices = DeviceStore(client: resources.postgres)
            let imports = ImportJobRunner(client: resources.postgres, logger: resources.logger)
            return ServiceComponents(
                handlers: [
                    SIPDigestHandler(store: devices),
                    ResolveDialHandler(store: devices),
                    DeviceLookupHandler(store: devices),
                    DoorLookupHandler(client: resources.postgres),
                    SiteLookupHandler(client: resources.postgres),
                    PersonLookupHandler(client: resources.postgres),
                    IntrospectionHandler(client: resources.postgres, keys: keys),
                ],
                services: [
                    KeySetPublisher(resources: resources, keys: issuer),
                    OutboxRelay(client: resources.postgres, schema: schema, transport: resources.bus.transport, logger: resources.logger),
                    imports,
                    AuthKeyWatcher(nats: resources.nats, keys: keys, logger: resources.logger),
                    GuestExpiry(client: resources.postgres, logger: resources.logger),
                    DevicePresenceConsumer(
                        nats: resources.nats,
                        client: resources.postgres,
                        stream: resources.configuration.eventStream,
                        logger: resources.logger
                    ),
                ],
                routes: { router in
                    issuer.register(on: router)
                    people.register(on: router)
                    logins.register(on: router)
                    TenantsAPI(client: resources.postgres, keys: keys).register(on: router)
                    TopologyAPI(client: resources.postgres, keys: keys).register(on: router)
                    DevicesAPI(client: resources.postgres, keys: keys).register(on: router)
                    APIKeysAPI(client: resources.postgres, signer: issuer.signer, keys: keys).register(on: router)
                    ImportAPI(client: resources.postgres, runner: imports, keys: keys).register(on: router)
                    IdentityOpenAPI.register(on: router)
                }
            )
        }
    )
}
