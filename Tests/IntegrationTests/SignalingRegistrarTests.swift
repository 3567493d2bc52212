import AccessService
import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import IdentityService
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import ServiceLifecycle
import ServiceLifecycleTestKit
import SignalingService
import Testing

/// Signaling's registrar against real SIP user agents (sipp, sipvicious), identity's digest
/// lookup over a real nats-server and the location store in real PostgreSQL.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_SERVER_BIN", "NATS_CONFIG", "SIPP_BIN"), "run through make test"),
    .timeLimit(.minutes(4))
)
struct SignalingRegistrarTests {
    let logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .debug
        return logger
    }()

    struct Device {
        var id: UUID
        var username: String
        var password: String
    }

    struct Context {
        var postgres: PostgresClient
        /// A NATS client on the test's server (as identity), with the events stream in place.
        var nats: NATSClient
        var schema: String
        var server: SIPServer
        var tenant: TenantID
        var domain: String
        var site: UUID
        var phone: Device
        var station: Device
        /// A second resident's phone in unit 101, and the concierge's desk phone (the site fallback).
        var bob: Device
        var desk: Device
        var udpPort: Int
        var tcpPort: Int
        var tlsPort: Int?
        var directory: URL
        var natsURL: String
        var door: UUID
        /// Ada and Bob live in unit 101.
        var ada: UUID
        /// The concierge, whose desk phone is the site's fallback.
        var concierge: UUID
        /// Access control's parts, when the test asked for them.
        var access: AccessService.Parts?
        var commander: DoorCommander? { self.access?.commander }
        var controllers: DoorControllerStore? { self.access?.controllers }
        var passes: PassStore? { self.access?.passes }
    }

    /// A tenant with a site, a resident's phone and a door station; identity answering over a
    /// nats-server of the test's own; a SIP server on free ports.
    func withSignaling(
        presence: Bool = false,
        doorControlURL: String? = nil,
        access: Bool = false,
        configure: @Sendable (inout SignalingConfiguration) -> Void = { _ in },
        _ body: @Sendable (Context) async throws -> Void
    )
        async throws
    {
        try await withTestPostgres { postgres in
            try await MigrationRunner(schema: IdentityService.schema, migrations: IdentityService.migrations).run(on: postgres, logger: self.logger)
            // A schema of the test's own: the stack test's signaling process relays the shared one.
            let suffix = UUID().uuidString.prefix(8).lowercased()
            let schema = "signaling_\(suffix)"
            try await MigrationRunner(schema: schema, migrations: SignalingService.migrations).run(on: postgres, logger: self.logger)
            let tenant = try await TenantStore(client: postgres).ensure(slug: "sip-\(suffix)", name: "SIP test", logger: self.logger).id
            let topology = TopologyStore(client: postgres)
            let domain = "sip-\(suffix).example.org"
            let site = UUID(
                uuidString: try await topology.createSite(
                    tenant: tenant,
                    name: "Site",
                    timeZone: "Europe/Berlin",
                    sipDomain: domain,
                    logger: self.logger
                )
                .id
            )!
            let building = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "A", logger: self.logger).id)!
            let unit = UUID(
                uuidString: try await topology.createUnit(
                    tenant: tenant,
                    site: site,
                    building: building,
                    dialNumber: "101",
                    floor: "1",
                    ringSeconds: 5,
                    logger: self.logger
                ).id
            )!
            let people = PeopleStore(client: postgres)
            let ada = try await people.create(tenant: tenant, PersonInput(kind: .resident, displayName: "Ada"), logger: self.logger).id
            let bob = try await people.create(tenant: tenant, PersonInput(kind: .resident, displayName: "Bob"), logger: self.logger).id
            let concierge = try await people.create(
                tenant: tenant,
                PersonInput(kind: .staff, displayName: "Concierge", staffRole: "staff"),
                logger: self.logger
            ).id
            for person in [ada, bob] {
                #expect(try await topology.setResident(tenant: tenant, unit: unit, person: person, role: "owner", logger: self.logger))
            }
            let devices = DeviceStore(client: postgres)
            let door = try await devices.createDoor(tenant: tenant, site: site, building: building, name: "Lobby", kind: .door, logger: self.logger)
                .id
            let (phone, phoneSecret) = try await devices.create(
                tenant: tenant,
                DeviceInput(siteId: site, kind: .sipPhone, name: "Ada's phone", unitId: unit, personId: ada, sipUsername: "ada-phone"),
                logger: self.logger
            )
            let (bobPhone, bobSecret) = try await devices.create(
                tenant: tenant,
                DeviceInput(siteId: site, kind: .sipPhone, name: "Bob's phone", unitId: unit, personId: bob, sipUsername: "bob-phone"),
                logger: self.logger
            )
            let (desk, deskSecret) = try await devices.create(
                tenant: tenant,
                DeviceInput(siteId: site, kind: .sipPhone, name: "Concierge desk", personId: concierge, sipUsername: "desk"),
                logger: self.logger
            )
            try await devices.setFallbacks(
                tenant: tenant,
                site: site,
                building: nil,
                [.init(position: 1, staff: concierge, ringSeconds: 10)],
                logger: self.logger
            )
            let (station, stationSecret) = try await devices.create(
                tenant: tenant,
                DeviceInput(
                    siteId: site,
                    kind: .doorStation,
                    name: "Lobby station",
                    vendor: "2n",
                    doorId: door,
                    sipUsername: "lobby",
                    controlURL: doorControlURL
                ),
                logger: self.logger
            )
            let nats = try NATSServerProcess()
            try await nats.start()
            defer { nats.stop() }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-sip-\(suffix)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try await withNATSClient(nats.url, as: .identity) { identityNATS in
                try await withNATSClient(nats.url, as: .signaling) { signalingNATS in
                    try await withNATSClient(nats.url, as: .access) { accessNATS in
                        let responder = BusResponder(
                            transport: NATSTransport(client: identityNATS),
                            queue: "identity",
                            handlers: [
                                SIPDigestHandler(store: devices), ResolveDialHandler(store: devices), DoorLookupHandler(client: postgres),
                                SiteLookupHandler(client: postgres),
                                PersonLookupHandler(client: postgres),
                            ],
                            logger: self.logger
                        )
                        var configuration = SignalingConfiguration(host: "127.0.0.1", udpPort: 0, tcpPort: 0)
                        configure(&configuration)
                        let server = SIPServer(
                            configuration: configuration,
                            bus: MessageBus(
                                transport: NATSTransport(client: signalingNATS),
                                source: EventSource(service: .signaling, instance: "test")
                            ),
                            postgres: postgres,
                            schema: schema,
                            outbox: SignalingService.outbox(schema: schema, instance: "test"),
                            instance: "test",
                            logger: self.logger
                        )
                        try await testGracefulShutdown { trigger in
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask { try await responder.run() }
                                group.addTask { try await server.run() }
                                try await identityNATS.jetStream.ensureStream(EventStream.configuration())
                                if presence {
                                    // Signaling's outbox to JetStream, and identity applying what arrives.
                                    let relay = OutboxRelay(
                                        client: postgres,
                                        schema: schema,
                                        transport: NATSTransport(client: signalingNATS),
                                        logger: self.logger
                                    )
                                    let consumer = DevicePresenceConsumer(
                                        nats: identityNATS,
                                        client: postgres,
                                        stream: EventStream.defaultName,
                                        durable: "presence-\(suffix)",
                                        filterSubject: "gatehouse.v1.evt.\(tenant).signaling.>",
                                        logger: self.logger
                                    )
                                    group.addTask { try await relay.run() }
                                    group.addTask { try await consumer.run() }
                                }
                                var accessParts: AccessService.Parts?
                                if access {
                                    // Access control answering unlock requests, its events relayed to JetStream.
                                    let accessSchema = "access_\(suffix)"
                                    try await MigrationRunner(schema: accessSchema, migrations: AccessService.migrations).run(
                                        on: postgres,
                                        logger: self.logger
                                    )
                                    let parts = AccessService.Parts(
                                        postgres: postgres,
                                        bus: MessageBus(
                                            transport: NATSTransport(client: accessNATS),
                                            source: EventSource(service: .access, instance: "test")
                                        ),
                                        schema: accessSchema,
                                        secretKey: Array(repeating: 7, count: 32),
                                        commandDeadline: .seconds(3),
                                        instance: "test"
                                    )
                                    let accessResponder = BusResponder(
                                        transport: NATSTransport(client: accessNATS),
                                        queue: "access",
                                        handlers: parts.handlers,
                                        logger: self.logger
                                    )
                                    let relay = OutboxRelay(
                                        client: postgres,
                                        schema: accessSchema,
                                        transport: NATSTransport(client: accessNATS),
                                        logger: self.logger
                                    )
                                    _ = try await parts.controllers.put(
                                        tenant: tenant,
                                        DoorController(doorId: door, relay: 2, username: "admin", secret: "door-secret"),
                                        keepSecret: false,
                                        logger: self.logger
                                    )
                                    accessParts = parts
                                    group.addTask { try await accessResponder.run() }
                                    group.addTask { try await relay.run() }
                                    group.addTask { try await parts.http.run() }
                                    group.addTask { try await parts.bundleFeed(nats: accessNATS, logger: self.logger).run() }
                                }
                                #expect(try await eventually { server.addresses != nil })
                                let addresses = try #require(server.addresses)
                                try await body(
                                    Context(
                                        postgres: postgres,
                                        nats: identityNATS,
                                        schema: schema,
                                        server: server,
                                        tenant: tenant,
                                        domain: domain,
                                        site: site,
                                        phone: Device(id: phone.id, username: phoneSecret.username, password: phoneSecret.password),
                                        station: Device(id: station.id, username: stationSecret.username, password: stationSecret.password),
                                        bob: Device(id: bobPhone.id, username: bobSecret.username, password: bobSecret.password),
                                        desk: Device(id: desk.id, username: deskSecret.username, password: deskSecret.password),
                                        udpPort: try #require(addresses.udp?.port),
                                        tcpPort: try #require(addresses.tcp?.port),
                                        tlsPort: addresses.tls?.port,
                                        directory: directory,
                                        natsURL: nats.url,
                                        door: door,
                                        ada: ada,
                                        concierge: concierge,
                                        access: accessParts
                                    )
                                )
                                trigger.triggerGracefulShutdown()
                                try await group.waitForAll()
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs a sipp scenario as a client; `users` become the injection file (`field0;field1;…`).
    func sipp(
        _ context: Context,
        scenario: String,
        users: [[String]],
        transport: String = "u1",
        localIP: String = "127.0.0.1",
        localPort: Int = 0,
        port: Int? = nil,
        authURI: String? = nil,
        extra: [String] = []
    ) async throws -> ToolRun {
        let name = "s\(UUID().uuidString.prefix(6))"
        let scenarioFile = context.directory.appendingPathComponent("\(name).xml")
        let usersFile = context.directory.appendingPathComponent("\(name).csv")
        try scenario.write(to: scenarioFile, atomically: true, encoding: .utf8)
        try (["SEQUENTIAL"] + users.map { $0.joined(separator: ";") }).joined(separator: "\n").appending("\n")
            .write(to: usersFile, atomically: true, encoding: .utf8)
        let target = "127.0.0.1:\(port ?? (transport.hasPrefix("t") ? context.tcpPort : context.udpPort))"
        return try await runTool(
            try TestEnvironment.require("SIPP_BIN"),
            [
                "-sf", scenarioFile.path, "-inf", usersFile.path, target, "-t", transport, "-i", localIP, "-p", "\(localPort)",
                "-m", "\(max(1, users.count))",
                // sipp's digest URI defaults to the server's address; devices use the Request-URI.
                "-auth_uri", authURI ?? users.first.flatMap { $0.count > 1 ? $0[1] : nil } ?? context.domain,
                "-r", "50", "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err", "-error_file",
                context.directory.appendingPathComponent("\(name).err").path,
            ] + extra,
            directory: context.directory,
            timeout: .seconds(40)
        )
    }

    /// A line of a sipp injection file for `device`: user, domain, and its `[authentication]`.
    func account(_ context: Context, _ device: Device) -> [String] {
        [device.username, context.domain, "[authentication username=\(device.username) password=\(device.password)]"]
    }

    func outboxTypes(_ context: Context) async throws -> [String] {
        var types: [String] = []
        for try await type in try await context.postgres.query(
            "SELECT event_type FROM \(unescaped: context.schema).outbox WHERE subject LIKE \("gatehouse.v1.evt.\(context.tenant).%") ORDER BY seq",
            logger: self.logger
        ).decode(String.self) {
            types.append(type)
        }
        return types
    }

    @Test func devicesRegisterWithDigestOverUDPAndTCPAndDeregister() async throws {
        try await self.withSignaling { context in
            // A phone over UDP, the door station over TCP.
            let before = Date()
            let phone = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 600, final: 200),
                users: [self.account(context, context.phone)]
            )
            #expect(phone.status == 0, "\(phone.output)")
            let station = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 300, final: 200),
                users: [self.account(context, context.station)],
                transport: "t1"
            )
            #expect(station.status == 0, "\(station.output)")
            let phoneBindings = try await context.server.store.bindings(tenant: context.tenant, device: context.phone.id, logger: self.logger)
            #expect(phoneBindings.count == 1 && phoneBindings.first?.transport == "UDP")
            #expect(
                phoneBindings.first.map {
                    $0.expiresAt >= before.addingTimeInterval(599) && $0.expiresAt <= Date().addingTimeInterval(601)
                } == true
            )
            let stationBindings = try await context.server.store.bindings(tenant: context.tenant, device: context.station.id, logger: self.logger)
            #expect(stationBindings.count == 1 && stationBindings.first?.transport == "TCP")
            #expect(try await self.outboxTypes(context) == [DeviceRegistered.eventType.type, DeviceRegistered.eventType.type])
            // De-registration: Expires 0 removes the binding and announces the device offline.
            let off = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 0, final: 200),
                users: [self.account(context, context.phone)]
            )
            #expect(off.status == 0, "\(off.output)")
            #expect(try await context.server.store.bindings(tenant: context.tenant, device: context.phone.id, logger: self.logger).isEmpty)
            #expect(try await self.outboxTypes(context).last == DeviceUnregistered.eventType.type)
            // Too short an interval: 423 with Min-Expires.
            let brief = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 10, final: 423),
                users: [self.account(context, context.phone)]
            )
            #expect(brief.status == 0, "\(brief.output)")
        }
    }

    @Test func wrongPasswordsAndUnknownUsersGetTheSameAnswersThenTheSourceIsBanned() async throws {
        try await self.withSignaling(configure: { $0.security.failuresBeforeBan = 3 }) { context in
            let wrong = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 600, final: 403),
                users: [
                    [context.phone.username, context.domain, "[authentication username=\(context.phone.username) password=wrong-password]"],
                    ["nobody-here", context.domain, "[authentication username=nobody-here password=wrong-password]"],
                ]
            )
            #expect(wrong.status == 0, "\(wrong.output)")
            // The third failure bans 127.0.0.1: its next requests go unanswered…
            let third = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 600, final: 403),
                users: [[context.phone.username, context.domain, "[authentication username=\(context.phone.username) password=again-wrong]"]],
                extra: ["-recv_timeout", "2000"]
            )
            #expect(third.status != 0)
            let banned = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 600, final: 200),
                users: [self.account(context, context.phone)],
                extra: ["-recv_timeout", "2000"]
            )
            #expect(banned.status != 0)
            // …while the door station at another address keeps registering.
            let station = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 300, final: 200),
                users: [self.account(context, context.station)],
                localIP: "127.0.0.2"
            )
            #expect(station.status == 0, "\(station.output)")
        }
    }
}

extension SignalingRegistrarTests {
    func online(_ context: Context, _ device: UUID) async throws -> (Bool, Date?) {
        for try await row in try await context.postgres.query(
            "SELECT online, last_seen_at FROM identity.devices WHERE tenant_id = \(context.tenant.rawValue) AND id = \(device)",
            logger: self.logger
        ).decode((Bool, Date?).self) {
            return row
        }
        return (false, nil)
    }

    @Test func registrationsTurnDevicesOnlineInIdentityThroughJetStream() async throws {
        try await self.withSignaling(presence: true) { context in
            #expect(try await self.online(context, context.station.id).0 == false)
            let station = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 300, final: 200),
                users: [self.account(context, context.station)],
                transport: "t1"
            )
            #expect(station.status == 0, "\(station.output)")
            #expect(try await eventually { try await self.online(context, context.station.id).0 })
            #expect(try await self.online(context, context.station.id).1 != nil)
            #expect(try await self.online(context, context.phone.id).0 == false)
            let off = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 0, final: 200),
                users: [self.account(context, context.station)],
                transport: "t1"
            )
            #expect(off.status == 0, "\(off.output)")
            #expect(try await eventually { try await self.online(context, context.station.id).0 == false })
        }
    }

    @Test func expiredRegistrationsAreSweptAndAnnounced() async throws {
        try await self.withSignaling { context in
            let phone = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 600, final: 200),
                users: [self.account(context, context.phone)]
            )
            #expect(phone.status == 0, "\(phone.output)")
            // Age the binding instead of waiting ten minutes, then sweep.
            try await context.postgres.query(
                "UPDATE \(unescaped: context.schema).bindings SET expires_at = now() - interval '1 second' WHERE device_id = \(context.phone.id)",
                logger: self.logger
            )
            #expect(try await context.server.store.sweep(logger: self.logger) >= 1)
            #expect(try await context.server.store.bindings(tenant: context.tenant, device: context.phone.id, logger: self.logger).isEmpty)
            #expect(try await self.outboxTypes(context) == [DeviceRegistered.eventType.type, DeviceExpired.eventType.type])
        }
    }

    func sipvicious(_ tool: String, _ arguments: [String], context: Context) async throws -> ToolRun {
        let directory = try TestEnvironment.require("SIPVICIOUS_BIN_DIR")
        return try await runTool("\(directory)/sipvicious_\(tool)", arguments, directory: context.directory, timeout: .seconds(60))
    }

    @Test func sipviciousFindsNoUsersAndCannotCrackAPassword() async throws {
        try await self.withSignaling { context in
            let dictionary = context.directory.appendingPathComponent("users.txt")
            try ["100", "101", "admin", "nobody", context.phone.username, context.station.username, "1000", "door-1"].joined(separator: "\n")
                .write(to: dictionary, atomically: true, encoding: .utf8)
            // Every method svwar knows: known and unknown users must look alike.
            for method in ["REGISTER", "OPTIONS", "INVITE"] {
                let scan = try await self.sipvicious(
                    "svwar",
                    [
                        "-d", dictionary.path, "-m", method, "--force", "--domain", context.domain, "-p", "\(context.udpPort)", "-t", "0.05",
                        "127.0.0.1",
                    ],
                    context: context
                )
                #expect(!scan.timedOut)
                #expect(!scan.output.contains(context.phone.username) && !scan.output.contains(context.station.username), "\(method): \(scan.output)")
                #expect(!scan.output.contains("| Extension") && scan.output.contains("found nothing"), "\(method): \(scan.output)")
            }
            // svcrack against a real account is stopped: after failuresBeforeBan wrong answers the
            // address is ignored, so it gets no further than that.
            let before = context.server.authenticationFailures
            let crack = try await self.sipvicious(
                "svcrack",
                [
                    "-u", context.phone.username, "-r", "1-2000", "--domain", context.domain, "-p", "\(context.udpPort)", "--maximumtime", "3",
                    "127.0.0.1",
                ],
                context: context
            )
            let attempts = context.server.authenticationFailures - before
            #expect(attempts >= 1 && attempts <= 10, "\(attempts) attempts: \(crack.output)")
            #expect(context.server.isBanned("127.0.0.1"))
            #expect(!crack.output.contains("| Extension") && crack.output.contains("found nothing"), "\(crack.output)")
            // A door station at another address still registers.
            let station = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 300, final: 200),
                users: [self.account(context, context.station)],
                localIP: "127.0.0.2"
            )
            #expect(station.status == 0, "\(station.output)")
        }
    }
}

/// sipp scenarios for the registrar tests.
enum SIPScenarios {
    /// `deploy/sipp/register.xml`: REGISTER, 401 challenge, REGISTER with credentials (`[field2]`),
    /// then the `final` status, asking for `expires` seconds.
    static func register(expires: Int, final: Int) -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/sipp/register.xml")
        let scenario = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return scenario.replacingOccurrences(of: "Expires: 600", with: "Expires: \(expires)")
            .replacingOccurrences(of: "<recv response=\"200\"/>", with: "<recv response=\"\(final)\"/>")
    }
}
