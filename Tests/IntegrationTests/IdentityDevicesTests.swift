import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IdentityService
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// Identity's places, devices and the requests signaling and the other services make, against real
/// PostgreSQL and NATS.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_SERVER_BIN", "NATS_CONFIG"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct IdentityDevicesTests {
    let logger = Logger(label: "test")
    let signer = try! TokenSigner(seed: Array(repeating: 44, count: 32))

    /// A site with building, unit 101 (two residents), the concierge and a door, in a fresh tenant.
    struct Fixture {
        var tenant: TenantID
        var domain: String
        var site: UUID
        var building: UUID
        var unit: UUID
        var ada: UUID
        var bob: UUID
        var concierge: UUID
        var door: UUID
    }

    func fixture(_ postgres: PostgresClient) async throws -> Fixture {
        try await MigrationRunner(schema: IdentityService.schema, migrations: IdentityService.migrations).run(on: postgres, logger: self.logger)
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let tenant = try await TenantStore(client: postgres).ensure(slug: "dev-\(suffix)", name: "Devices test", logger: self.logger).id
        let topology = TopologyStore(client: postgres)
        let domain = "sip-\(suffix).example.org"
        let site = UUID(
            uuidString: try await topology.createSite(tenant: tenant, name: "Site", timeZone: "Europe/Berlin", sipDomain: domain, logger: self.logger)
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
                ringSeconds: 25,
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
        let door = try await DeviceStore(client: postgres).createDoor(
            tenant: tenant,
            site: site,
            building: building,
            name: "Lobby",
            kind: .door,
            logger: self.logger
        ).id
        return Fixture(
            tenant: tenant,
            domain: domain,
            site: site,
            building: building,
            unit: unit,
            ada: ada,
            bob: bob,
            concierge: concierge,
            door: door
        )
    }

    /// Identity's request handlers served over real NATS while `body` runs.
    /// `body` gets a bus connected as signaling (the only caller the SIP digest lookup answers) and
    /// the server's URL.
    func withResponder(
        _ postgres: PostgresClient,
        _ body: @Sendable (MessageBus, String) async throws -> Void
    ) async throws {
        // A nats-server of the test's own: the stack other suites start serves the same subjects.
        let server = try NATSServerProcess()
        try await server.start()
        defer { server.stop() }
        let url = server.url
        try await withNATSClient(url, as: .identity) { nats in
            try await withNATSClient(url, as: .signaling) { signaling in
                let transport = NATSTransport(client: nats)
                let devices = DeviceStore(client: postgres)
                let keys = AuthKeys(JWKS(keys: [self.signer.publicJWK]))
                let responder = BusResponder(
                    transport: transport,
                    queue: "identity-test-\(UUID().uuidString.prefix(8))",
                    handlers: [
                        SIPDigestHandler(store: devices), ResolveDialHandler(store: devices), DeviceLookupHandler(store: devices),
                        PersonLookupHandler(client: postgres), IntrospectionHandler(client: postgres, keys: keys),
                    ],
                    logger: self.logger
                )
                let bus = MessageBus(transport: NATSTransport(client: signaling), source: EventSource(service: .signaling, instance: "devices"))
                try await testGracefulShutdown { trigger in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await responder.run() }
                        // Ready when a request is answered (not_found is an answer).
                        #expect(
                            try await eventually {
                                do {
                                    _ = try await bus.request(
                                        SIPDigestLookup(realm: "ready.invalid", username: "nobody"),
                                        timeout: .milliseconds(500)
                                    )
                                    return true
                                } catch let error as WireError {
                                    return error.code == .notFound
                                } catch {
                                    return false
                                }
                            }
                        )
                        try await body(bus, url)
                        trigger.triggerGracefulShutdown()
                        try await group.waitForAll()
                    }
                }
            }
        }
    }

    @Test func digestLookupAndRingPlansFollowDevicesRevocationAndErasure() async throws {
        try await withTestPostgres { postgres in
            let f = try await self.fixture(postgres)
            let devices = DeviceStore(client: postgres)
            let (adaPhone, adaCredentials) = try await devices.create(
                tenant: f.tenant,
                DeviceInput(siteId: f.site, kind: .sipPhone, name: "Ada's phone", unitId: f.unit, personId: f.ada),
                logger: self.logger
            )
            let (bobPhone, _) = try await devices.create(
                tenant: f.tenant,
                DeviceInput(siteId: f.site, kind: .sipPhone, name: "Bob's app", personId: f.bob, sipUsername: "bob-app"),
                logger: self.logger
            )
            let (monitor, _) = try await devices.create(
                tenant: f.tenant,
                DeviceInput(siteId: f.site, kind: .indoorMonitor, name: "Hall monitor", unitId: f.unit),
                logger: self.logger
            )
            let (desk, _) = try await devices.create(
                tenant: f.tenant,
                DeviceInput(siteId: f.site, kind: .sipPhone, name: "Desk", personId: f.concierge),
                logger: self.logger
            )
            let (station, stationCredentials) = try await devices.create(
                tenant: f.tenant,
                DeviceInput(siteId: f.site, kind: .doorStation, name: "Lobby station", vendor: "2n", doorId: f.door, sipUsername: "lobby"),
                logger: self.logger
            )
            #expect(adaCredentials.password.count == DeviceStore.passwordLength && adaCredentials.realm == f.domain)
            await #expect(throws: DeviceStoreError.sipUsernameTaken) {
                try await devices.create(
                    tenant: f.tenant,
                    DeviceInput(siteId: f.site, kind: .sipPhone, name: "Copy", unitId: f.unit, sipUsername: "lobby"),
                    logger: self.logger
                )
            }
            // A staff fallback with a device, a staff fallback whose person has none (left out), a number.
            let lonely = try await PeopleStore(client: postgres).create(
                tenant: f.tenant,
                PersonInput(kind: .staff, displayName: "Night guard", staffRole: "staff"),
                logger: self.logger
            ).id
            try await devices.setFallbacks(
                tenant: f.tenant,
                site: f.site,
                building: nil,
                [
                    .init(position: 1, staff: f.concierge, ringSeconds: 15), .init(position: 2, staff: lonely),
                    .init(position: 3, number: "+4930123456"),
                ],
                logger: self.logger
            )

            try await self.withResponder(postgres) { bus, _ in
                // The HA1 identity hands out is H(user:realm:password) of the password it handed out once.
                let account = try await bus.request(SIPDigestLookup(realm: f.domain.uppercased(), username: "lobby"))
                #expect(account.deviceId == station.id && account.kind == .doorStation && account.doorId == f.door && account.tenantId == f.tenant)
                #expect(account.ha1MD5 == SIPDigest.ha1(username: "lobby", realm: f.domain, password: stationCredentials.password, .md5))
                #expect(account.ha1SHA256 == SIPDigest.ha1(username: "lobby", realm: f.domain, password: stationCredentials.password, .sha256))
                await #expect(throws: WireError(code: .notFound, message: "")) {
                    try await bus.request(SIPDigestLookup(realm: "other.example.org", username: "lobby"))
                }

                var plan = try await bus.request(ResolveDialTarget(sipDomain: f.domain, dialled: "101"))
                #expect(plan.tenantId == f.tenant && plan.unitId == f.unit && plan.buildingId == f.building && plan.timeZone == "Europe/Berlin")
                #expect(plan.steps.map(\.kind) == [.unit, .staff, .external])
                #expect(plan.steps.map(\.ringSeconds) == [25, 15, 20])
                #expect(Set(plan.steps[0].targets.compactMap(\.deviceId)) == [adaPhone.id, bobPhone.id, monitor.id])
                #expect(plan.steps[0].targets.contains { $0.sipUsername == "bob-app" && $0.personId == f.bob })
                #expect(plan.steps[1].targets == [RingTarget(deviceId: desk.id, sipUsername: desk.sipUsername, personId: f.concierge)])
                #expect(plan.steps[2].targets == [RingTarget(number: "+4930123456")])
                await #expect(throws: WireError(code: .notFound, message: "")) {
                    try await bus.request(ResolveDialTarget(sipDomain: f.domain, dialled: "999"))
                }

                // Revoking a device removes it from the plan and its account from the lookup.
                _ = try await devices.revoke(tenant: f.tenant, id: bobPhone.id, logger: self.logger)
                await #expect(throws: WireError(code: .notFound, message: "")) {
                    try await bus.request(SIPDigestLookup(realm: f.domain, username: "bob-app"))
                }
                plan = try await bus.request(ResolveDialTarget(sipDomain: f.domain, dialled: "101"))
                #expect(Set(plan.steps[0].targets.compactMap(\.deviceId)) == [adaPhone.id, monitor.id])

                // Erasing a person revokes their devices.
                _ = try await PeopleStore(client: postgres).erase(tenant: f.tenant, id: f.ada, logger: self.logger)
                await #expect(throws: WireError(code: .notFound, message: "")) {
                    try await bus.request(SIPDigestLookup(realm: f.domain, username: adaPhone.sipUsername))
                }
                plan = try await bus.request(ResolveDialTarget(sipDomain: f.domain, dialled: "101"))
                #expect(plan.steps[0].targets.compactMap(\.deviceId) == [monitor.id])

                // Device and person lookups are scoped to the tenant in the header.
                let info = try await bus.request(DeviceLookup(deviceId: station.id), tenant: f.tenant)
                #expect(info.kind == .doorStation && info.vendor == "2n" && info.doorId == f.door && !info.revoked)
                await #expect(throws: WireError(code: .notFound, message: "")) {
                    try await bus.request(DeviceLookup(deviceId: station.id), tenant: TenantID(UUID()))
                }
                await #expect(throws: WireError(code: .invalidRequest, message: "")) {
                    try await bus.request(DeviceLookup(deviceId: station.id))
                }
                let bob = try await bus.request(PersonLookup(personId: f.bob), tenant: f.tenant)
                #expect(bob.residences == [.init(unitId: f.unit, siteId: f.site, buildingId: f.building, role: "owner")] && !bob.erased)
                #expect(try await bus.request(PersonLookup(personId: f.ada), tenant: f.tenant).erased)

                // A move-out: the unit stops ringing Bob's own devices; the unit's monitor stays.
                let (bobTablet, _) = try await devices.create(
                    tenant: f.tenant,
                    DeviceInput(siteId: f.site, kind: .sipPhone, name: "Bob's tablet", personId: f.bob),
                    logger: self.logger
                )
                plan = try await bus.request(ResolveDialTarget(sipDomain: f.domain, dialled: "101"))
                #expect(Set(plan.steps[0].targets.compactMap(\.deviceId)) == [bobTablet.id, monitor.id])
                let topology = TopologyStore(client: postgres)
                #expect(try await topology.removeResident(tenant: f.tenant, unit: f.unit, person: f.bob, logger: self.logger) == .removed)
                #expect(try await topology.removeResident(tenant: f.tenant, unit: f.unit, person: f.bob, logger: self.logger) == .notResident)
                #expect(try await topology.removeResident(tenant: TenantID(UUID()), unit: f.unit, person: f.bob, logger: self.logger) == .unknown)
                plan = try await bus.request(ResolveDialTarget(sipDomain: f.domain, dialled: "101"))
                #expect(plan.steps[0].targets.compactMap(\.deviceId) == [monitor.id])
                #expect(try await bus.request(PersonLookup(personId: f.bob), tenant: f.tenant).residences.isEmpty)
            }
        }
    }

    /// deploy/nats/nats.conf: clients without credentials cannot ask for digests, cannot read
    /// signaling's replies, cannot serve identity's requests and cannot publish identity's events.
    @Test func onlySignalingGetsDigestsOverNATS() async throws {
        try await withTestPostgres { postgres in
            let f = try await self.fixture(postgres)
            let (station, _) = try await DeviceStore(client: postgres).create(
                tenant: f.tenant,
                DeviceInput(siteId: f.site, kind: .doorStation, name: "Gate", doorId: f.door, sipUsername: "gate"),
                logger: self.logger
            )
            try await self.withResponder(postgres) { signaling, url in
                try await withNATSClient(url) { anonymous in
                    // Everything an anonymous client can see, from before signaling asks.
                    let everything = try await anonymous.subscribe(to: ">")
                    let seen = Received()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { for await message in everything { seen.withLock { $0.append(message) } } }
                        defer { group.cancelAll() }
                        try await anonymous.flush()

                        let account = try await signaling.request(SIPDigestLookup(realm: f.domain, username: "gate"))
                        #expect(account.deviceId == station.id)

                        let bus = MessageBus(transport: NATSTransport(client: anonymous), source: EventSource(service: .access, instance: "t"))
                        await #expect(throws: WireError.self) {
                            try await bus.request(SIPDigestLookup(realm: f.domain, username: "gate"), timeout: .milliseconds(500))
                        }
                        // Other lookups stay open to every service.
                        #expect(try await bus.request(DeviceLookup(deviceId: station.id), tenant: f.tenant).id == station.id)
                        // Identity's events are identity's: JetStream never acknowledges a forged one.
                        try await anonymous.jetStream.ensureStream(EventStream.configuration())
                        await #expect(throws: (any Error).self) {
                            try await bus.publish(PersonErased(personId: f.ada, erasedAt: Date()), tenant: f.tenant, timeout: .seconds(1))
                        }
                        // …and signaling's (device presence) are signaling's.
                        let registration = DeviceRegistration(
                            deviceId: station.id,
                            siteId: f.site,
                            kind: .doorStation,
                            transport: "UDP",
                            bindings: 1,
                            userAgent: nil,
                            expiresAt: Date()
                        )
                        await #expect(throws: (any Error).self) {
                            try await bus.publish(DeviceRegistered(registration), tenant: f.tenant, timeout: .seconds(1))
                        }

                        try await anonymous.flush()
                        // Its `>` saw the other traffic but neither the requests to identity (it could
                        // not pose as identity) nor signaling's replies (the HA1 values).
                        let subjects = seen.withLock { $0.map(\.subject) }
                        #expect(subjects.contains { $0.hasPrefix("_INBOX.") }, "its own replies: \(subjects)")
                        #expect(!subjects.contains { $0.hasPrefix("_INBOX_signaling.") }, "\(subjects)")
                        #expect(!subjects.contains(SIPDigestLookup.method.subject))
                    }
                }
            }
        }
    }

    @Test func introspectionRefusesTokensOfRevokedSessionsAndErasedPeople() async throws {
        try await withTestPostgres { postgres in
            let f = try await self.fixture(postgres)
            try await self.withResponder(postgres) { bus, _ in
                let earlier = Date().addingTimeInterval(-5)
                let token = try self.signer.sign(AccessClaims(subject: f.bob.lowercasedString, tenant: f.tenant, role: .resident, issuedAt: earlier))
                let active = try await bus.request(IntrospectToken(token: token))
                #expect(active.active && active.tenantId == f.tenant && active.role == "resident" && active.subject == f.bob.lowercasedString)
                #expect(try await bus.request(IntrospectToken(token: token + "x")).active == false)
                let foreign = try TokenSigner(seed: Array(repeating: 9, count: 32))
                    .sign(AccessClaims(subject: f.bob.lowercasedString, tenant: f.tenant, role: .resident))
                #expect(try await bus.request(IntrospectToken(token: foreign)).active == false)

                // Ending every session (a password change does this) deactivates earlier tokens, not later ones.
                try await AuthStore(client: postgres).revokeAll(tenant: f.tenant, person: f.bob, logger: self.logger)
                #expect(try await bus.request(IntrospectToken(token: token)).active == false)
                let later = try self.signer.sign(
                    AccessClaims(subject: f.bob.lowercasedString, tenant: f.tenant, role: .resident, issuedAt: Date().addingTimeInterval(2))
                )
                #expect(try await bus.request(IntrospectToken(token: later)).active)

                let adaToken = try self.signer.sign(AccessClaims(subject: f.ada.lowercasedString, tenant: f.tenant, role: .resident))
                #expect(try await bus.request(IntrospectToken(token: adaToken)).active)
                _ = try await PeopleStore(client: postgres).erase(tenant: f.tenant, id: f.ada, logger: self.logger)
                #expect(try await bus.request(IntrospectToken(token: adaToken)).active == false)
            }
        }
    }

    // MARK: HTTP

    struct Reply {
        var status: HTTPResponse.Status
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:] }
    }

    func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, token: String?, json: String? = nil) async throws
        -> Reply
    {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, body: String(buffer: response.body))
        }
    }

    @Test func placesAndDevicesOverHTTPWithCredentialsShownOnce() async throws {
        try await withTestPostgres { postgres in
            let f = try await self.fixture(postgres)
            let router = Router()
            router.add(middleware: ProblemMiddleware())
            let keys = AuthKeys(JWKS(keys: [self.signer.publicJWK]))
            TopologyAPI(client: postgres, keys: keys).register(on: router)
            DevicesAPI(client: postgres, keys: keys).register(on: router)
            try await Application(router: router).test(.router) { client in
                let admin = try self.signer.sign(AccessClaims(subject: "admin", tenant: f.tenant, role: .tenantAdmin))
                let staff = try self.signer.sign(AccessClaims(subject: "staff", tenant: f.tenant, role: .staff))
                let stranger = try self.signer.sign(AccessClaims(subject: "x", tenant: TenantID(UUID()), role: .tenantAdmin))
                let base = "/v1/tenants/\(f.tenant)"

                // A second site: bad fields are all named at once; a taken SIP domain is a conflict.
                let bad = try await self.call(
                    client,
                    .post,
                    "\(base)/sites",
                    token: admin,
                    json: #"{"name":"","timeZone":"Mars/Olympus","sipDomain":"no spaces","extra":1}"#
                )
                #expect(bad.status == .badRequest)
                let fields = Set(((bad.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String })
                #expect(fields == ["name", "timeZone", "sipDomain", "extra"], "\(bad.body)")
                let taken = try await self.call(
                    client,
                    .post,
                    "\(base)/sites",
                    token: admin,
                    json: #"{"name":"Other","timeZone":"UTC","sipDomain":"\#(f.domain)"}"#
                )
                #expect(taken.status == .conflict)

                // Units page in dial order; the unit shows its residents.
                for dial in ["102", "103"] {
                    let created = try await self.call(
                        client,
                        .post,
                        "\(base)/sites/\(f.site)/units",
                        token: admin,
                        json: #"{"buildingId":"\#(f.building)","dialNumber":"\#(dial)"}"#
                    )
                    #expect(created.status == .created, "\(created.body)")
                }
                let duplicate = try await self.call(
                    client,
                    .post,
                    "\(base)/sites/\(f.site)/units",
                    token: admin,
                    json: #"{"buildingId":"\#(f.building)","dialNumber":"101"}"#
                )
                #expect(duplicate.status == .conflict)
                var dials: [String] = []
                var cursor: String?
                repeat {
                    let page = try await self.call(
                        client,
                        .get,
                        "\(base)/sites/\(f.site)/units?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                        token: staff
                    )
                    #expect(page.status == .ok)
                    dials += ((page.json["units"] as? [[String: Any]]) ?? []).compactMap { $0["dialNumber"] as? String }
                    cursor = page.json["nextCursor"] as? String
                } while cursor != nil
                #expect(dials == ["101", "102", "103"])
                let unit = try await self.call(client, .get, "\(base)/units/\(f.unit)", token: staff)
                #expect(((unit.json["residents"] as? [[String: Any]]) ?? []).count == 2)

                // A door station: the password is in the creation answer only.
                let created = try await self.call(
                    client,
                    .post,
                    "\(base)/devices",
                    token: admin,
                    json:
                        #"{"siteId":"\#(f.site)","kind":"door_station","name":"Lobby","vendor":"2n","doorId":"\#(f.door)","controlURL":"http://10.0.0.5"}"#
                )
                #expect(created.status == .created, "\(created.body)")
                let id = try #require(created.json["id"] as? String)
                let password = try #require(created.json["sipPassword"] as? String)
                let username = try #require(created.json["sipUsername"] as? String)
                let read = try await self.call(client, .get, "\(base)/devices/\(id)", token: staff)
                #expect(read.status == .ok && read.json["sipPassword"] == nil && !read.body.contains(password))
                let stored = try #require(
                    try await DeviceStore(client: postgres).sipAccount(realm: f.domain, username: username, logger: self.logger)
                )
                #expect(stored.ha1SHA256 == SIPDigest.ha1(username: username, realm: f.domain, password: password, .sha256))

                // Rotation answers a new password and the old HA1 is gone.
                let rotated = try await self.call(client, .post, "\(base)/devices/\(id)/sip-password", token: admin)
                let newPassword = try #require(rotated.json["sipPassword"] as? String)
                #expect(newPassword != password)
                let after = try #require(try await DeviceStore(client: postgres).sipAccount(realm: f.domain, username: username, logger: self.logger))
                #expect(after.ha1SHA256 == SIPDigest.ha1(username: username, realm: f.domain, password: newPassword, .sha256))

                // Field errors: a door station without a door, a phone with a door, a unit of no site.
                let wrong = try await self.call(
                    client,
                    .post,
                    "\(base)/devices",
                    token: admin,
                    json: #"{"siteId":"\#(f.site)","kind":"door_station","name":"X","controlURL":"ftp://x"}"#
                )
                #expect(wrong.status == .badRequest && wrong.body.contains("doorId") && wrong.body.contains("controlURL"))
                let foreignUnit = try await self.call(
                    client,
                    .post,
                    "\(base)/devices",
                    token: admin,
                    json: #"{"siteId":"\#(f.site)","kind":"sip_phone","name":"X","unitId":"\#(UUID())"}"#
                )
                #expect(foreignUnit.status == .badRequest && foreignUnit.body.contains("unitId"))

                // Staff read but do not write; another tenant sees nothing.
                #expect(try await self.call(client, .post, "\(base)/devices/\(id)/sip-password", token: staff).status == .forbidden)
                #expect(try await self.call(client, .get, "\(base)/devices/\(id)", token: stranger).status == .notFound)
                #expect(try await self.call(client, .get, "\(base)/sites/\(f.site)", token: stranger).status == .notFound)

                // Revocation: the device stays, marked revoked, and its account is gone.
                #expect(try await self.call(client, .delete, "\(base)/devices/\(id)", token: admin).status == .noContent)
                let revoked = try await self.call(client, .get, "\(base)/devices/\(id)", token: admin)
                #expect(revoked.json["revokedAt"] is String)
                #expect(try await DeviceStore(client: postgres).sipAccount(realm: f.domain, username: username, logger: self.logger) == nil)
                #expect(try await self.call(client, .post, "\(base)/devices/\(id)/sip-password", token: admin).status == .conflict)

                // Fallbacks: one problem per bad step.
                let steps = try await self.call(
                    client,
                    .put,
                    "\(base)/sites/\(f.site)/fallbacks",
                    token: admin,
                    json: #"{"steps":[{"staffPersonId":"\#(f.concierge)"},{"number":"0301234"},{}]}"#
                )
                #expect(steps.status == .badRequest && steps.body.contains("steps[1].number") && steps.body.contains("steps[2].staffPersonId"))
                let badHours = try await self.call(
                    client,
                    .put,
                    "\(base)/sites/\(f.site)/fallbacks",
                    token: admin,
                    json: #"{"steps":[{"number":"+4930123456","hours":"nights"}]}"#
                )
                #expect(badHours.status == .badRequest && badHours.body.contains("steps[0].hours"))
                let good = try await self.call(
                    client,
                    .put,
                    "\(base)/sites/\(f.site)/fallbacks",
                    token: admin,
                    json:
                        #"{"steps":[{"staffPersonId":"\#(f.concierge)","ringSeconds":15,"hours":"business"},{"number":"+4930123456","hours":"after_hours"}]}"#
                )
                #expect(good.status == .noContent, "\(good.body)")
                // The ring plan carries each fallback's hours (the concierge has no device: that step is left out).
                let plan = try await DeviceStore(client: postgres).dialPlan(sipDomain: f.domain, dialled: "101", logger: self.logger)
                #expect(plan?.steps.filter { $0.kind != .unit }.map(\.hours) == [.afterHours])
            }
        }
    }

    @Test func apiKeysAreShownOnceTradedForIntegratorTokensAndRevoked() async throws {
        try await withTestPostgres { postgres in
            let f = try await self.fixture(postgres)
            let router = Router()
            router.add(middleware: ProblemMiddleware())
            let keys = AuthKeys(JWKS(keys: [self.signer.publicJWK]))
            APIKeysAPI(client: postgres, signer: self.signer, keys: keys).register(on: router)
            try await Application(router: router).test(.router) { client in
                let admin = try self.signer.sign(AccessClaims(subject: "admin", tenant: f.tenant, role: .tenantAdmin))
                let manager = try self.signer.sign(AccessClaims(subject: "pm", tenant: f.tenant, role: .propertyManager))
                let base = "/v1/tenants/\(f.tenant)/api-keys"
                let bad = try await self.call(client, .post, base, token: admin, json: #"{"name":"CRM","domains":["access","payroll"]}"#)
                #expect(bad.status == .badRequest && bad.body.contains("domains"))
                #expect(try await self.call(client, .post, base, token: manager, json: #"{"name":"CRM","domains":["access"]}"#).status == .forbidden)

                let created = try await self.call(client, .post, base, token: admin, json: #"{"name":"CRM","domains":["signaling","access"]}"#)
                #expect(created.status == .created, "\(created.body)")
                let secret = try #require(created.json["key"] as? String)
                let id = try #require(created.json["id"] as? String)
                #expect(secret.hasPrefix("ghk_") && secret.count >= 46)
                #expect(try await self.call(client, .post, base, token: admin, json: #"{"name":"CRM","domains":["access"]}"#).status == .conflict)
                let listed = try await self.call(client, .get, base, token: admin)
                #expect(listed.status == .ok && listed.body.contains(id) && !listed.body.contains(secret))
                // Stored as a hash only.
                var stored: [UInt8] = []
                for try await hash in try await postgres.query(
                    "SELECT secret_hash FROM identity.api_keys WHERE id = \(UUID(uuidString: id)!)",
                    logger: self.logger
                ).decode(ByteBuffer.self) {
                    stored = Array(buffer: hash)
                }
                #expect(stored.count == 32 && !String(decoding: stored, as: UTF8.self).contains("ghk_"))

                // The key buys a short-lived integrator token of its tenant and domains.
                let traded = try await self.call(client, .post, "/v1/auth/token", token: nil, json: #"{"apiKey":"\#(secret)"}"#)
                #expect(traded.status == .ok, "\(traded.body)")
                let token = try #require(traded.json["accessToken"] as? String)
                let principal = try keys.current.verify(token)
                #expect(principal.role == .integrator && principal.claims.tid == f.tenant && principal.claims.domains == ["access", "signaling"])
                #expect(try await self.call(client, .post, "/v1/auth/token", token: nil, json: #"{"apiKey":"ghk_nope"}"#).status == .unauthorized)

                // Revoked: at once, and idempotently; another tenant sees no such key.
                let stranger = try self.signer.sign(AccessClaims(subject: "x", tenant: TenantID(UUID()), role: .tenantAdmin))
                #expect(try await self.call(client, .delete, "/v1/tenants/\(TenantID(UUID()))/api-keys/\(id)", token: stranger).status == .notFound)
                #expect(try await self.call(client, .delete, "\(base)/\(id)", token: admin).status == .noContent)
                #expect(try await self.call(client, .delete, "\(base)/\(id)", token: admin).status == .noContent)
                #expect(try await self.call(client, .post, "/v1/auth/token", token: nil, json: #"{"apiKey":"\#(secret)"}"#).status == .unauthorized)
            }
        }
    }

}
