public import Configuration
public import Foundation
public import GatehouseNATS
public import GatehouseWire
public import Hummingbird
public import Logging
public import PostgresNIO
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// What a service library declares: its name, its PostgreSQL schema and migrations, and how to build
/// its handlers and workers from the shared resources.
public struct ServiceDefinition: Sendable {
    public var name: ServiceName
    /// The PostgreSQL schema the service owns; no other service touches it.
    public var schema: String
    public var migrations: [any DatabaseMigration]
    public var build: @Sendable (ServiceResources) async throws -> ServiceComponents

    public init(
        name: ServiceName,
        schema: String,
        migrations: [any DatabaseMigration],
        build: @escaping @Sendable (ServiceResources) async throws -> ServiceComponents
    ) {
        self.name = name
        self.schema = schema
        self.migrations = migrations
        self.build = build
    }

    public var migrationRunner: MigrationRunner { MigrationRunner(schema: self.schema, migrations: self.migrations) }
}

/// The shared resources handed to a service's `build`.
public struct ServiceResources: Sendable {
    public var configuration: ServiceConfiguration
    /// The whole configuration (scoped to `gatehouse`), for the service's own keys.
    public var config: ConfigReader
    public var logger: Logger
    public var bus: MessageBus
    public var nats: NATSClient
    public var postgres: PostgresClient
    public var startedAt: Date

    public init(
        configuration: ServiceConfiguration,
        config: ConfigReader,
        logger: Logger,
        bus: MessageBus,
        nats: NATSClient,
        postgres: PostgresClient,
        startedAt: Date = Date()
    ) {
        self.configuration = configuration
        self.config = config
        self.logger = logger
        self.bus = bus
        self.nats = nats
        self.postgres = postgres
        self.startedAt = startedAt
    }
}

/// What a service contributes: request handlers, long-running workers, admin routes.
public struct ServiceComponents: Sendable {
    public var handlers: [any RequestHandler]
    public var services: [any Service]
    public var routes: @Sendable (Router<BasicRequestContext>) -> Void

    public init(
        handlers: [any RequestHandler] = [],
        services: [any Service] = [],
        routes: @escaping @Sendable (Router<BasicRequestContext>) -> Void = { _ in }
    ) {
        self.handlers = handlers
        self.services = services
        self.routes = routes
    }
}

/// One running service: NATS client, PostgreSQL pool, migrations, the events stream, request
/// responders, the service's workers and the admin HTTP server, as one `Service`.
///
/// Start-up: connect (retrying) → migrate under an advisory lock → ensure the `GATEHOUSE_EVENTS`
/// stream → serve requests → publish `system.service_started`. Shutdown runs in reverse: the admin
/// server stops, responders drain and finish in-flight requests, `system.service_stopping` is
/// published, the pool closes, NATS drains.
public struct ServiceApp: Service {
    public let definition: ServiceDefinition
    public let configuration: ServiceConfiguration
    let config: ConfigReader
    let logger: Logger
    let registry: PrometheusCollectorRegistry

    public init(
        definition: ServiceDefinition,
        configuration: ServiceConfiguration,
        config: ConfigReader,
        logger: Logger,
        registry: PrometheusCollectorRegistry
    ) {
        self.definition = definition
        self.configuration = configuration
        self.config = config
        self.logger = logger
        self.registry = registry
    }

    public func run() async throws {
        let nats = NATSClient(configuration: self.configuration.nats, logger: self.logger)
        let postgres = PostgresClient(configuration: self.configuration.postgres, backgroundLogger: self.logger)
        let bus = MessageBus(
            transport: NATSTransport(client: nats),
            source: EventSource(service: self.definition.name, instance: self.configuration.instance),
            defaultTimeout: self.configuration.defaultRequestTimeout
        )
        let resources = ServiceResources(
            configuration: self.configuration,
            config: self.config,
            logger: self.logger,
            bus: bus,
            nats: nats,
            postgres: postgres,
            startedAt: Date()
        )
        let components = try await self.definition.build(resources)
        let startup = Startup()
        let core = CoreService(resources: resources, definition: self.definition, components: components, startup: startup)
        let checks = [
            ReadinessCheck(name: "nats") { nats.isConnected },
            ReadinessCheck(name: "migrations") { startup.isReady },
            ReadinessCheck(name: "postgres") {
                (try? await postgres.query("SELECT 1", logger: self.logger)) != nil
            },
        ]
        let admin = try AdminServer.make(
            configuration: self.configuration.http,
            serverName: self.definition.name.rawValue,
            registry: self.registry,
            checks: checks,
            routes: components.routes,
            logger: self.logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: nats),
                    .init(service: postgres),
                    .init(service: core),
                    .init(service: admin),
                ],
                gracefulShutdownSignals: [],
                cancellationSignals: [],
                logger: self.logger
            )
        )
        try await group.run()
    }
}

/// Flags the readiness probe reads.
final class Startup: Sendable {
    private let ready = Atomic<Bool>(false)
    var isReady: Bool { self.ready.load(ordering: .acquiring) }
    func markReady() { self.ready.store(true, ordering: .releasing) }
}

/// Migrations, the events stream, then the responders and workers.
struct CoreService: Service {
    let resources: ServiceResources
    let definition: ServiceDefinition
    let components: ServiceComponents
    let startup: Startup

    func run() async throws {
        let logger = self.resources.logger
        do {
            try await cancelWhenGracefulShutdown {
                try await self.retrying("migrations") {
                    let applied = try await self.definition.migrationRunner.run(on: self.resources.postgres, logger: logger)
                    if !applied.isEmpty { logger.notice("migrations applied", metadata: ["gatehouse.migrations": "\(applied)"]) }
                }
                try await self.retrying("events stream") {
                    try await self.resources.nats.jetStream.ensureStream(
                        EventStream.configuration(
                            name: self.resources.configuration.eventStream,
                            duplicateWindow: self.resources.configuration.duplicateWindow
                        )
                    )
                }
            }
        } catch is CancellationError {
            return
        }
        if Task.isShuttingDownGracefully { return }
        self.startup.markReady()

        let ping = PingHandler(
            reply: PingReply(
                service: self.definition.name,
                version: self.resources.configuration.version,
                instance: self.resources.configuration.instance,
                startedAt: self.resources.startedAt
            )
        )
        let responder = BusResponder(
            transport: self.resources.bus.transport,
            queue: self.definition.name.rawValue,
            handlers: [ping] + self.components.handlers,
            maxConcurrentRequests: self.resources.configuration.maxConcurrentRequests,
            logger: logger
        )
        let announce = Announcer(resources: self.resources, service: self.definition.name)
        let inner = ServiceGroup(
            configuration: .init(
                services: [.init(service: announce), .init(service: responder)] + self.components.services.map { .init(service: $0) },
                gracefulShutdownSignals: [],
                cancellationSignals: [],
                logger: logger
            )
        )
        logger.notice(
            "service ready",
            metadata: ["gatehouse.service": "\(self.definition.name)", "http.port": "\(self.resources.configuration.http.port)"]
        )
        try await inner.run()
    }

    /// Retries `body` with exponential backoff (0.2 s doubling to 5 s) while it fails for reasons
    /// other than a failed migration, which is fatal.
    private func retrying(_ what: String, _ body: @Sendable () async throws -> Void) async throws {
        var delay = Duration.milliseconds(200)
        while true {
            do {
                try await body()
                return
            } catch let error as GatehouseError where error.code == .migrationFailed {
                throw error
            } catch {
                if Task.isCancelled { throw CancellationError() }
                self.resources.logger.info("\(what) not ready, retrying", metadata: ["error.type": "\(String(reflecting: error))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

/// Publishes `system.service_started` at start and `system.service_stopping` on graceful shutdown.
struct Announcer: Service {
    let resources: ServiceResources
    let service: ServiceName

    func run() async throws {
        let configuration = self.resources.configuration
        do {
            try await self.resources.bus.publish(
                ServiceStarted(service: self.service, version: configuration.version, instance: configuration.instance),
                tenant: .operator,
                subject: "service/\(self.service)"
            )
        } catch {
            self.resources.logger.warning("service_started not published", metadata: ["error.type": "\(error)"])
        }
        try? await gracefulShutdown()
        do {
            try await self.resources.bus.publish(
                ServiceStopping(
                    service: self.service,
                    instance: configuration.instance,
                    uptimeSeconds: Date().timeIntervalSince(self.resources.startedAt)
                ),
                tenant: .operator,
                subject: "service/\(self.service)",
                timeout: .seconds(2)
            )
        } catch {
            self.resources.logger.info("service_stopping not published", metadata: ["error.type": "\(error)"])
        }
    }
}

/// The JetStream stream that captures every event.
public enum EventStream {
    public static let defaultName = "GATEHOUSE_EVENTS"

    /// File storage, de-duplication on `Nats-Msg-Id`, no deletes. The server's `sync_interval: always`
    /// (deploy/nats/nats.conf) makes an acknowledged write durable.
    public static func configuration(name: String = defaultName, duplicateWindow: Duration = .seconds(120)) -> StreamConfiguration {
        StreamConfiguration(
            name: name,
            subjects: [Subjects.allEvents],
            storage: .file,
            duplicateWindow: duplicateWindow,
            maxMessageSize: 1_048_576,
            denyDelete: true
        )
    }
}
