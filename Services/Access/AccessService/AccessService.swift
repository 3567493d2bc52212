import Foundation
package import GatehouseNATS
import GatehouseWire
package import Hummingbird
package import Logging
package import PostgresNIO
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
        PolicyStore.migration,
        CredentialStore.migration,
        BundleStore.migration,
        BundleStore.decisionsMigration,
        PolicyStore.callHoursMigration,
    ]

    /// Access control's parts, wired once for the service and for tests that run it in-process.
    package struct Parts: Sendable {
        package let http: DoorHTTPClient
        package let controllers: DoorControllerStore
        package let commander: DoorCommander
        package let passes: PassStore
        package let credentials: CredentialStore
        package let desk: CredentialDesk
        package let bundles: BundleStore
        package let cleanup: IdentityCleanup
        package let notifier = BundleNotifier()

        package init(
            postgres: PostgresClient,
            bus: MessageBus,
            schema: String = AccessService.schema,
            secretKey: [UInt8],
            commandDeadline: Duration,
            instance: String
        ) {
            let outbox = AccessService.outbox(schema: schema, instance: instance)
            self.http = DoorHTTPClient()
            self.controllers = DoorControllerStore(client: postgres, schema: schema, secretKey: secretKey)
            let settings = SiteSettingsStore(client: postgres, schema: schema, outbox: outbox)
            self.commander = DoorCommander(
                bus: bus,
                client: postgres,
                controllers: self.controllers,
                http: self.http,
                outbox: outbox,
                policies: PolicyStore(client: postgres, schema: schema, outbox: outbox, settings: settings),
                defaultDeadline: commandDeadline
            )
            self.passes = PassStore(client: postgres, schema: schema, outbox: outbox, secretKey: secretKey)
            self.credentials = CredentialStore(client: postgres, schema: schema, outbox: outbox, passes: self.passes)
            self.desk = CredentialDesk(
                commander: self.commander,
                passes: self.passes,
                credentials: self.credentials,
                guardian: BruteForceGuard(client: postgres, schema: schema)
            )
            self.bundles = BundleStore(client: postgres, schema: schema, commander: self.commander, passes: self.passes)
            self.cleanup = IdentityCleanup(client: postgres, schema: schema, outbox: outbox, credentials: self.credentials)
        }

        /// Applies identity's erasures and deletions to access's data.
        package func identityFollower(nats: NATSClient, stream: String, logger: Logger) -> IdentityFollower {
            IdentityFollower(nats: nats, stream: stream, cleanup: self.cleanup, logger: logger)
        }

        /// Wakes doors' long-polls on access's events.
        package func bundleFeed(nats: NATSClient, logger: Logger) -> BundleFeed { BundleFeed(nats: nats, notifier: self.notifier, logger: logger) }

        /// Access's admin and door routes.
        package func register(on router: Router<BasicRequestContext>, keys: AuthKeys) {
            DoorsAPI(commander: self.commander, controllers: self.controllers, keys: keys).register(on: router)
            PassesAPI(commander: self.commander, passes: self.passes, keys: keys).register(on: router)
            PoliciesAPI(commander: self.commander, keys: keys).register(on: router)
            CredentialsAPI(commander: self.commander, credentials: self.credentials, keys: keys).register(on: router)
            DoorDeviceAPI(commander: self.commander, desk: self.desk, bundles: self.bundles, notifier: self.notifier, keys: keys).register(on: router)
        }

        /// The request handlers access serves on NATS.
        package var handlers: [any RequestHandler] {
            [
                UnlockDoorHandler(commander: self.commander), PresentCredentialHandler(desk: self.desk),
                CallHoursHandler(commander: self.commander),
            ]
        }
    }

    public static let definition = ServiceDefinition(
        name: .access,
        schema: schema,
        migrations: migrations,
        build: { resources in
            let configuration = try AccessConfiguration(config: resources.config)
            let keys = AuthKeys()
            let parts = Parts(
                postgres: resources.postgres,
                bus: resources.bus,
                secretKey: configuration.secretKey,
                commandDeadline: .milliseconds(configuration.commandDeadlineMilliseconds),
                instance: resources.configuration.instance
            )
            return ServiceComponents(
                handlers: parts.handlers,
                services: [
                    parts.http,
                    OutboxRelay(client: resources.postgres, schema: schema, transport: resources.bus.transport, logger: resources.logger),
                    AuthKeyWatcher(nats: resources.nats, keys: keys, logger: resources.logger),
                    parts.bundleFeed(nats: resources.nats, logger: resources.logger),
                    parts.identityFollower(nats: resources.nats, stream: resources.configuration.eventStream, logger: resources.logger),
                ],
                routes: { router in
                    parts.register(on: router, keys: keys)
                }
            )
        }
    )
}
