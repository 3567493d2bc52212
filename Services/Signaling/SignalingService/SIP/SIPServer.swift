package import GatehouseNATS
package import Logging
package import PostgresNIO
package import ServiceKit
package import ServiceLifecycle

/// The SIP side of signaling as one `Service`: listeners, request checks, registrar. Binds at
/// start, serves until graceful shutdown, then closes listeners and connections.
package final class SIPServer: Service, Sendable {
    let configuration: SignalingConfiguration
    let transport: SIPTransportLayer
    let core: SIPCore
    package let store: LocationStore
    /// Identity's SIP accounts as signaling keeps them (nil when the cache is off).
    let accounts: SIPAccountCache?
    let logger: Logger

    /// `schema` is where the location store lives (tests use their own); `outbox` must write to
    /// the same schema.
    package init(
        configuration: SignalingConfiguration,
        bus: MessageBus,
        postgres: PostgresClient,
        schema: String = SignalingService.schema,
        outbox: OutboxWriter,
        instance: String,
        logger: Logger
    ) {
        self.configuration = configuration
        self.logger = logger
        let transport = SIPTransportLayer(configuration: configuration, logger: logger)
        let sources = SourceGuard(policy: configuration.security)
        let identity = IdentityAccountDirectory(bus: bus, timeout: .seconds(2))
        let lifetime = configuration.registrar.accountCacheLifetime
        self.accounts = lifetime > .zero ? SIPAccountCache(directory: identity, lifetime: lifetime) : nil
        let authenticator = DigestAuthenticator(
            directory: self.accounts ?? identity,
            challenges: DigestChallenges(lifetime: configuration.registrar.nonceLifetime),
            sources: sources,
            algorithms: configuration.registrar.algorithms,
            logger: logger
        )
        self.store = LocationStore(client: postgres, schema: schema, outbox: outbox, maxContacts: configuration.registrar.maxContacts)
        let registrar = Registrar(
            policy: configuration.registrar,
            authenticator: authenticator,
            store: self.store,
            instance: instance,
            logger: logger
        )
        self.transport = transport
        self.core = SIPCore(
            transport: transport,
            registrar: registrar,
            authenticator: authenticator,
            sources: sources,
            bus: bus,
            host: configuration.advertisedHost,
            limits: configuration.limits,
            doorOpenKeys: configuration.doorOpenKeys,
            planLifetime: configuration.planCacheLifetime,
            trunk: configuration.trunk,
            logger: logger
        )
    }

    /// Wrong digest answers since start, and whether an address is banned now (for tests and the
    /// admin API).
    package var authenticationFailures: Int { self.core.authenticator.failures }
    package func isBanned(_ address: String) -> Bool { self.core.sources.isBanned(address) }

    /// Non-2xx finals to INVITEs being resent until their ACK.
    package var finalsAwaitingAcknowledgement: Int { self.core.transactions.awaitingAcknowledgement }

    /// Our CANCELs still waiting for their answer.
    package var cancelsAwaitingAnswer: Int { self.core.router.cancelsAwaitingAnswer }

    /// Branches of calls being rung or recently answered.
    package var activeCallBranches: Int { self.core.router.activeBranches }

    /// Where the listeners are, once bound.
    package var addresses: SIPListenAddresses? { self.transport.bound }

    /// How often identity's announcements made the account cache forget something.
    package var accountsForgotten: Int { self.accounts?.forgotten ?? 0 }

    /// What keeps the account cache true to identity: its device and site announcements.
    package func accountFeed(nats: NATSClient) -> (any Service)? {
        guard self.accounts != nil || self.core.router.plans != nil else { return nil }
        return SIPAccountFeed(nats: nats, cache: self.accounts, router: self.core.router, logger: self.logger)
    }

    package func run() async throws {
        let bound = try await self.transport.start(sink: self.core)
        self.logger.info(
            "sip: listening",
            metadata: [
                "gatehouse.udp": "\(bound.udp.map { "\($0)" } ?? "off")",
                "gatehouse.tcp": "\(bound.tcp.map { "\($0)" } ?? "off")",
                "gatehouse.tls": "\(bound.tls.map { "\($0)" } ?? "off")",
                "gatehouse.ws": "\(bound.ws.map { "\($0)" } ?? "off")",
                "gatehouse.wss": "\(bound.wss.map { "\($0)" } ?? "off")",
            ]
        )
        let router = self.core.router
        let events = Task { await router.publishEvents() }
        try? await gracefulShutdown()
        await self.transport.stop()
        // What happened before the listeners closed is still announced.
        router.stop()
        await events.value
    }
}
