import AuditService
import Configuration
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
import Synchronization
import Testing

/// Identity's people API over HTTP, against real PostgreSQL and NATS (JetStream).
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_URL"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct IdentityAPITests {
    let logger = Logger(label: "test")
    let signer = try! TokenSigner(seed: Array(repeating: 43, count: 32))

    struct Reply {
        var status: HTTPResponse.Status
        var body: String
        var headers: HTTPFields
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:] }
    }

    func token(_ role: Role, tenant: TenantID) throws -> String {
        try self.signer.sign(AccessClaims(subject: "test", tenant: tenant, role: role))
    }

    /// A tenant, the API on a test router, and a NATS client whose JetStream holds the events stream.
    func withAPI(_ body: @Sendable (TenantID, NATSClient, PostgresClient, any TestClientProtocol) async throws -> Void) async throws {
        // As identity: its events are identity's alone to publish (deploy/nats/nats.conf).
        try await withNATSClient(try TestEnvironment.natsURL, as: .identity) { nats in
            try await nats.jetStream.ensureStream(EventStream.configuration())
            try await withTestPostgres { postgres in
                try await MigrationRunner(schema: IdentityService.schema, migrations: IdentityService.migrations).run(
                    on: postgres,
                    logger: self.logger
                )
                let slug = "api-\(UUID().uuidString.prefix(8).lowercased())"
                let tenant = try await TenantStore(client: postgres).ensure(slug: slug, name: "API test", logger: self.logger).id
                let bus = MessageBus(transport: NATSTransport(client: nats), source: EventSource(service: .identity, instance: "test"))
                let router = Router()
                router.add(middleware: ProblemMiddleware())
                let keys = AuthKeys(JWKS(keys: [self.signer.publicJWK]))
                PeopleAPI(client: postgres, keys: keys, bus: bus).register(on: router)
                AuthAPI(client: postgres, signer: self.signer, keys: keys).register(on: router)
                TenantsAPI(client: postgres, keys: keys).register(on: router)
                TopologyAPI(client: postgres, keys: keys).register(on: router)
                DevicesAPI(client: postgres, keys: keys).register(on: router)
                APIKeysAPI(client: postgres, signer: self.signer, keys: keys).register(on: router)
                // Identity's events leave through its outbox (decision 0008), as in the service.
                let relay = OutboxRelay(client: postgres, schema: IdentityService.schema, transport: NATSTransport(client: nats), logger: self.logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await relay.run() }
                    defer { group.cancelAll() }
                    try await Application(router: router).test(.router) { client in try await body(tenant, nats, postgres, client) }
                }
            }
        }
    }

    /// Runs `body` while every event of `tenant` is collected into the `Received` it gets.
    func collectingEvents(of tenant: TenantID, from nats: NATSClient, _ body: (Received) async throws -> Void) async throws {
        let subscription = try await nats.subscribe(to: Subjects.events(of: tenant))
        let received = Received()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await message in subscription { received.withLock { $0.append(message) } } }
            defer { group.cancelAll() }
            try await nats.flush()
            try await body(received)
        }
    }

    func call(
        _ client: any TestClientProtocol,
        _ method: HTTPRequest.Method,
        _ path: String,
        token: String?,
        json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, body: String(buffer: response.body), headers: response.headers)
        }
    }

    @Test func everyRouteAnswersEachRoleAsDocumented() async throws {
        try await self.withAPI { tenant, _, _, client in
            let admin = try self.token(.tenantAdmin, tenant: tenant)
            let created = try await self.call(
                client,
                .post,
                "/v1/tenants/\(tenant)/people",
                token: admin,
                json: #"{"kind":"resident","displayName":"Ada"}"#
            )
            #expect(created.status == .created)
            let id = try #require(created.json["id"] as? String)
            let base = "/v1/tenants/\(tenant)/people"
            let patch = #"{"displayName":"Ada L."}"#
            // (method, path, body) → expected status per caller below.
            let routes: [(HTTPRequest.Method, String, String?)] = [
                (.get, base, nil), (.get, "\(base)/\(id)", nil), (.post, base, #"{"kind":"guest","displayName":"G"}"#),
                (.patch, "\(base)/\(id)", patch),
            ]
            let callers: [(String, String?, [HTTPResponse.Status])] = [
                ("no token", nil, [.unauthorized, .unauthorized, .unauthorized, .unauthorized]),
                ("property manager", try self.token(.propertyManager, tenant: tenant), [.ok, .ok, .forbidden, .forbidden]),
                ("staff", try self.token(.staff, tenant: tenant), [.ok, .ok, .forbidden, .forbidden]),
                ("resident", try self.token(.resident, tenant: tenant), [.forbidden, .forbidden, .forbidden, .forbidden]),
                ("guest", try self.token(.guest, tenant: tenant), [.forbidden, .forbidden, .forbidden, .forbidden]),
                ("integrator", try self.token(.integrator, tenant: tenant), [.forbidden, .forbidden, .forbidden, .forbidden]),
                ("another tenant's admin", try self.token(.tenantAdmin, tenant: TenantID(UUID())), [.notFound, .notFound, .notFound, .notFound]),
                ("operator", try self.token(.operatorAdmin, tenant: .operator), [.ok, .ok, .created, .preconditionRequired]),
            ]
            for (who, token, statuses) in callers {
                for ((method, path, body), status) in zip(routes, statuses) {
                    let reply = try await self.call(client, method, path, token: token, json: body)
                    #expect(reply.status == status, "\(who) \(method) \(path): \(reply.body.prefix(160))")
                }
            }
            // Erasure is the tenant admin's (and operator's) alone.
            for token in [try self.token(.propertyManager, tenant: tenant), try self.token(.staff, tenant: tenant)] {
                #expect(try await self.call(client, .delete, "\(base)/\(id)", token: token).status == .forbidden)
            }
        }
    }

    @Test func createReadChangeWithETagsIdempotencyAndFieldErrors() async throws {
        try await self.withAPI { tenant, _, _, client in
            let admin = try self.token(.tenantAdmin, tenant: tenant)
            let base = "/v1/tenants/\(tenant)/people"
            let body = #"{"kind":"resident","displayName":"  Grace Hopper ","email":"Grace@Example.org","phone":"+1 555 0100"}"#
            let first = try await self.call(client, .post, base, token: admin, json: body, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            #expect(first.status == .created && first.headers[.eTag] == "\"v1\"")
            #expect(first.json["displayName"] as? String == "Grace Hopper" && first.json["email"] as? String == "grace@example.org")
            // The same key and body: the same person again, not a second one.
            let again = try await self.call(client, .post, base, token: admin, json: body, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            #expect(again.status == .created && again.json["id"] as? String == first.json["id"] as? String)
            let reused = try await self.call(
                client,
                .post,
                base,
                token: admin,
                json: #"{"kind":"guest","displayName":"Other"}"#,
                headers: [HTTPField.Name("Idempotency-Key")!: "k-1"]
            )
            #expect(reused.status == .unprocessableContent && reused.json["type"] as? String == "urn:gatehouse:problem:idempotency-key-reused")
            // The e-mail is unique in the tenant.
            #expect(
                try await self.call(client, .post, base, token: admin, json: #"{"kind":"staff","displayName":"X","email":"grace@example.org"}"#)
                    .status == .conflict
            )

            let id = try #require(first.json["id"] as? String)
            let read = try await self.call(client, .get, "\(base)/\(id)", token: admin)
            #expect(read.status == .ok && read.headers[.eTag] == "\"v1\"")
            #expect(try await self.call(client, .get, "\(base)/\(id)", token: admin, headers: [.ifNoneMatch: "\"v1\""]).status == .notModified)
            // Changes need the ETag read; a stale one is refused.
            #expect(try await self.call(client, .patch, "\(base)/\(id)", token: admin, json: #"{"phone":null}"#).status == .preconditionRequired)
            let changed = try await self.call(
                client,
                .patch,
                "\(base)/\(id)",
                token: admin,
                json: #"{"phone":null,"kind":"staff"}"#,
                headers: [.ifMatch: "\"v1\""]
            )
            #expect(
                changed.status == .ok && changed.headers[.eTag] == "\"v2\"" && changed.json["phone"] == nil
                    && changed.json["kind"] as? String == "staff"
            )
            #expect(
                try await self.call(client, .patch, "\(base)/\(id)", token: admin, json: #"{"displayName":"Y"}"#, headers: [.ifMatch: "\"v1\""])
                    .status == .preconditionFailed
            )

            // Every bad field is named.
            let bad = try await self.call(
                client,
                .post,
                base,
                token: admin,
                json: #"{"kind":"alien","displayName":"","email":"no-at","phone":"call me","extra":1}"#
            )
            #expect(bad.status == .badRequest)
            let fields = Set((bad.json["errors"] as? [[String: String]] ?? []).compactMap { $0["field"] })
            #expect(fields == ["kind", "displayName", "email", "phone", "extra"])
            #expect(try await self.call(client, .post, base, token: admin, json: "[1,2]").status == .badRequest)
            #expect(
                try await self.call(client, .post, base, token: admin, json: "{}", headers: [.contentType: "text/plain"]).status
                    == .unsupportedMediaType
            )
            let huge = #"{"kind":"guest","displayName":""# + String(repeating: "x", count: 20_000) + #""}"#
            let tooLarge = try await self.call(client, .post, base, token: admin, json: huge)
            #expect(tooLarge.status == .contentTooLarge, "\(tooLarge.status) \(tooLarge.body)")
            #expect(try await self.call(client, .get, "\(base)/not-a-uuid", token: admin).status == .notFound)
            #expect(try await self.call(client, .get, "\(base)/\(UUID())", token: admin).status == .notFound)
        }
    }

    @Test func pagesCoverEveryPersonOnce() async throws {
        try await self.withAPI { tenant, _, _, client in
            let admin = try self.token(.tenantAdmin, tenant: tenant)
            let base = "/v1/tenants/\(tenant)/people"
            var created: Set<String> = []
            for index in 0..<12 {
                let reply = try await self.call(client, .post, base, token: admin, json: #"{"kind":"resident","displayName":"P\#(index)"}"#)
                created.insert(try #require(reply.json["id"] as? String))
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let reply = try await self.call(client, .get, "\(base)?limit=5" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
                seen += (reply.json["people"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = reply.json["nextCursor"] as? String
            } while cursor != nil && seen.count < 100
            #expect(seen.count == 12 && Set(seen) == created && seen == seen.sorted())
            #expect(try await self.call(client, .get, "\(base)?limit=0", token: admin).status == .badRequest)
            #expect(try await self.call(client, .get, "\(base)?cursor=@@", token: admin).status == .badRequest)
        }
    }

    @Test func loginsRefreshRotationLockoutAndErasure() async throws {
        try await self.withAPI { tenant, _, postgres, client in
            let admin = try self.token(.tenantAdmin, tenant: tenant)
            let base = "/v1/tenants/\(tenant)/people"
            var slug = ""
            for try await value in try await postgres.query("SELECT slug FROM identity.tenants WHERE id = \(tenant.rawValue)", logger: self.logger)
                .decode(String.self)
            {
                slug = value
            }
            let created = try await self.call(
                client,
                .post,
                base,
                token: admin,
                json: #"{"kind":"staff","displayName":"Ops","email":"ops@example.org","staffRole":"tenant-admin"}"#
            )
            #expect(created.status == .created && created.json["staffRole"] as? String == "tenant-admin")
            let id = try #require(created.json["id"] as? String)
            let password = "correct horse battery staple"
            #expect(try await self.call(client, .put, "\(base)/\(id)/password", token: admin, json: #"{"password":"short"}"#).status == .badRequest)
            #expect(
                try await self.call(client, .put, "\(base)/\(id)/password", token: admin, json: #"{"password":"\#(password)"}"#).status == .noContent
            )
            // Someone else's token may not set it; the person's own may.
            let other = try self.signer.sign(AccessClaims(subject: UUID().lowercasedString, tenant: tenant, role: .resident))
            #expect(
                try await self.call(client, .put, "\(base)/\(id)/password", token: other, json: #"{"password":"\#(password)"}"#).status == .forbidden
            )

            func login(_ secret: String, email: String = "ops@example.org") async throws -> Reply {
                try await self.call(
                    client,
                    .post,
                    "/v1/auth/login",
                    token: nil,
                    json: #"{"tenant":"\#(slug)","email":"\#(email)","password":"\#(secret)"}"#
                )
            }
            #expect(try await login("wrong password!").json["type"] as? String == "urn:gatehouse:problem:invalid-credentials")
            #expect(try await login(password, email: "nobody@example.org").status == .unauthorized)
            let session = try await login(password)
            #expect(session.status == .ok && session.headers[.cacheControl] == "no-store")
            let access = try #require(session.json["accessToken"] as? String)
            let principal = try TokenVerifier(keySet: JWKS(keys: [self.signer.publicJWK])).verify(access)
            #expect(principal.role == .tenantAdmin && principal.claims.sub == id && principal.claims.tid == tenant)
            #expect(try await self.call(client, .get, base, token: access).status == .ok)

            // Refresh tokens rotate; presenting a used one revokes the whole family.
            let first = try #require(session.json["refreshToken"] as? String)
            let refreshed = try await self.call(client, .post, "/v1/auth/refresh", token: nil, json: #"{"refreshToken":"\#(first)"}"#)
            let second = try #require(refreshed.json["refreshToken"] as? String)
            #expect(refreshed.status == .ok && second != first)
            #expect(
                try await self.call(client, .post, "/v1/auth/refresh", token: nil, json: #"{"refreshToken":"\#(first)"}"#).status == .unauthorized
            )
            #expect(
                try await self.call(client, .post, "/v1/auth/refresh", token: nil, json: #"{"refreshToken":"\#(second)"}"#).status == .unauthorized
            )
            // Logout ends a session.
            let third = try #require(try await login(password).json["refreshToken"] as? String)
            #expect(try await self.call(client, .post, "/v1/auth/logout", token: nil, json: #"{"refreshToken":"\#(third)"}"#).status == .noContent)
            #expect(
                try await self.call(client, .post, "/v1/auth/refresh", token: nil, json: #"{"refreshToken":"\#(third)"}"#).status == .unauthorized
            )

            // Five failures are free; the sixth locks the account, and then even the right password is refused.
            for _ in 0..<6 { #expect(try await login("not the password").status == .unauthorized) }
            #expect(try await login(password).status == .unauthorized)
            var locked: Date?
            for try await value in try await postgres.query(
                "SELECT locked_until FROM identity.people WHERE id = \(UUID(uuidString: id)!)",
                logger: self.logger
            ).decode(Date?.self) {
                locked = value
            }
            #expect(locked.map { $0 > Date() } == true)

            // Their own data, for them (self token) and a tenant admin; not for others.
            let own = try await self.call(client, .get, "\(base)/\(id)/export", token: access)
            #expect(own.status == .ok && own.json["format"] as? String == "gatehouse.person-export.v1")
            #expect((own.json["person"] as? [String: Any])?["email"] as? String == "ops@example.org")
            #expect(try await self.call(client, .get, "\(base)/\(id)/export", token: other).status == .forbidden)

            // An erased person cannot log in at all.
            try await postgres.query(
                "UPDATE identity.people SET locked_until = NULL, failed_logins = 0 WHERE id = \(UUID(uuidString: id)!)",
                logger: self.logger
            )
            #expect(try await login(password).status == .ok)
            #expect(try await self.call(client, .delete, "\(base)/\(id)", token: admin).status == .noContent)
            #expect(try await login(password).status == .unauthorized)
        }
    }

    /// Erasure end to end: identity erases and announces it on JetStream; the audit service, reading
    /// the stream, destroys the person's key, and their audit records become pseudonymous.
    @Test func erasureReachesTheAuditLogThroughJetStream() async throws {
        try await self.withAPI { tenant, nats, postgres, client in
            let admin = try self.token(.tenantAdmin, tenant: tenant)
            let base = "/v1/tenants/\(tenant)/people"
            let created = try await self.call(
                client,
                .post,
                base,
                token: admin,
                json: #"{"kind":"resident","displayName":"Zoë","email":"zoe@example.org"}"#
            )
            let id = try #require((created.json["id"] as? String).flatMap(UUID.init(uuidString:)))

            // The audit service, on this tenant's events.
            let schema = "audit_erasure_e2e"
            try await postgres.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: self.logger)
            try await MigrationRunner(schema: schema, migrations: AuditService.migrations).run(on: postgres, logger: self.logger)
            let config = ConfigReader(provider: InMemoryProvider(values: [:]))
            let bus = MessageBus(transport: NATSTransport(client: nats), source: EventSource(service: .access, instance: "test"))
            let resources = ServiceResources(
                configuration: try ServiceConfiguration(service: .audit, config: config),
                config: config,
                logger: self.logger,
                bus: bus,
                nats: nats,
                postgres: postgres
            )
            var configuration = AuditIngestor.Configuration()
            configuration.consumer = "audit-erasure-\(UUID().uuidString.prefix(8))"
            configuration.filterSubject = Subjects.events(of: tenant)
            let ingestor = AuditIngestor(resources: resources, configuration: configuration, schema: schema)
            let reader = AuditReader(client: postgres, schema: schema, keyring: configuration.keyring)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await ingestor.run() }
                defer { group.cancelAll() }
                // An access event about her, with personal data in `data`.
                try await bus.publish(EventProbe(run: "Zoë at the front door", number: 1), tenant: tenant, context: EventContext(person: id))
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        let page = try await reader.records(AuditFilter(tenant: tenant, person: id), logger: self.logger)
                        return page.records.first?.event.map { String(decoding: $0, as: UTF8.self).contains("Zoë") } == true
                    }
                )
                #expect(try await self.call(client, .delete, "\(base)/\(id)", token: admin).status == .noContent)
                #expect(try await self.call(client, .delete, "\(base)/\(id)", token: admin).status == .noContent)  // idempotent
                let erased = try await self.call(client, .get, "\(base)/\(id)", token: admin)
                #expect(
                    erased.json["erased"] as? Bool == true && erased.json["email"] == nil && erased.json["displayName"] as? String == "Erased person"
                )
                #expect(
                    try await self.call(client, .patch, "\(base)/\(id)", token: admin, json: #"{"displayName":"Z"}"#, headers: [.ifMatch: "\"v2\""])
                        .status == .conflict
                )
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        let page = try await reader.records(AuditFilter(tenant: tenant, person: id), logger: self.logger)
                        let probe = page.records.first { $0.eventType == EventProbe.eventType.type }
                        return probe?.erased == true && probe?.event == nil
                            && page.records.filter { $0.eventType == PersonErased.eventType.type }.count == 1
                    },
                    "the audit log did not shred the erased person's records"
                )
                let report = try await ChainVerifier(client: postgres, source: try .testDatabase(), schema: schema).verify(
                    tenant: tenant,
                    logger: self.logger
                )
                #expect(report.isValid)
            }
        }
    }

    @Test func changesAreAnnouncedThroughTheOutboxInOrderWithoutPersonalData() async throws {
        try await self.withAPI { tenant, nats, postgres, client in
            try await self.collectingEvents(of: tenant, from: nats) { received in

                // Over HTTP: a person made, changed and erased.
                let admin = try self.token(.tenantAdmin, tenant: tenant)
                let base = "/v1/tenants/\(tenant)/people"
                let created = try await self.call(
                    client,
                    .post,
                    base,
                    token: admin,
                    json: #"{"kind":"resident","displayName":"Quentin Quill","email":"quentin@example.org"}"#
                )
                let id = try #require((created.json["id"] as? String).flatMap(UUID.init(uuidString:)))
                let patched = try await self.call(
                    client,
                    .patch,
                    "\(base)/\(id)",
                    token: admin,
                    json: #"{"phone":"+49 30 1234567"}"#,
                    headers: [.ifMatch: "\"v1\""]
                )
                #expect(patched.status == .ok)
                // Through the stores: a site with a unit and a phone of his, which his erasure revokes.
                let topology = TopologyStore(client: postgres)
                let site = UUID(
                    uuidString: try await topology.createSite(
                        tenant: tenant,
                        name: "Outbox",
                        timeZone: "UTC",
                        sipDomain: "outbox-\(UUID().uuidString.prefix(8).lowercased()).example.org",
                        logger: self.logger
                    ).id
                )!
                let building = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "A", logger: self.logger).id)!
                let unit = UUID(
                    uuidString: try await topology.createUnit(
                        tenant: tenant,
                        site: site,
                        building: building,
                        dialNumber: "7",
                        floor: nil,
                        ringSeconds: 30,
                        logger: self.logger
                    ).id
                )!
                // Over HTTP: he moves in, and out again; a second move-out changes nothing (and
                // announces nothing); a unit of no one's is a 404.
                let residence = "/v1/tenants/\(tenant)/units/\(unit)/residents/\(id)"
                #expect(try await self.call(client, .put, residence, token: admin, json: #"{"role":"tenant"}"#).status == .noContent)
                #expect(try await self.call(client, .delete, residence, token: admin).status == .noContent)
                #expect(try await self.call(client, .delete, residence, token: admin).status == .noContent)
                let nowhere = "/v1/tenants/\(tenant)/units/\(UUID())/residents/\(id)"
                #expect(try await self.call(client, .delete, nowhere, token: admin).status == .notFound)
                let (phone, _) = try await DeviceStore(client: postgres).create(
                    tenant: tenant,
                    DeviceInput(siteId: site, kind: .sipPhone, name: "Quill phone", unitId: unit, personId: id),
                    logger: self.logger
                )
                #expect(try await self.call(client, .delete, "\(base)/\(id)", token: admin).status == .noContent)

                let expected = [
                    PersonCreated.eventType, PersonUpdated.eventType, SiteCreated.eventType, BuildingCreated.eventType,
                    UnitCreated.eventType, ResidencyUpdated.eventType, ResidencyRemoved.eventType, DeviceCreated.eventType,
                    DeviceRevoked.eventType, PersonErased.eventType,
                ].map(\.type)
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        received.withLock { $0.contains { message in message.subject.hasSuffix(".identity.person_erased") } }
                    },
                    "\(received.withLock { $0.map(\.subject) })"
                )
                // The tenant's own tenant_created may arrive before or after the subscription began.
                let messages = try received.withLock { $0 }.filter {
                    try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)).type != TenantCreated.eventType.type
                }
                let headers = try messages.map { try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)) }
                #expect(headers.map(\.type) == expected)
                for (message, header) in zip(messages, headers) {
                    // JetStream de-duplicates on the event id; no payload names or reaches the person.
                    #expect(message.headers[WireHeaders.messageID] == header.id.lowercasedString)
                    let text = String(decoding: message.payload, as: UTF8.self)
                    #expect(!text.contains("Quentin") && !text.contains("quentin@") && !text.contains("1234567"), "\(text)")
                }
                let moved = try WireCoding.decode(CloudEvent<ResidencyRemoved>.self, from: Data(messages[6].payload))
                #expect(moved.data.resource == ResidencyDocument(unitId: unit, personId: id, role: "tenant") && moved.context.unitid == unit)
                let revoked = try WireCoding.decode(CloudEvent<DeviceRevoked>.self, from: Data(messages[8].payload))
                #expect(revoked.data.resource.id == phone.id && revoked.data.resource.revoked && revoked.context.personid == id)
                // Nothing of this tenant waits in the outbox any more: the relay deletes what it published
                // just after the publish, so a subscriber may see a message before its row is gone.
                let drained = try await eventually(timeout: .seconds(10)) {
                    var waiting = -1
                    for try await count in try await postgres.query(
                        "SELECT count(*)::int FROM identity.outbox WHERE subject LIKE \("gatehouse.v1.evt.\(tenant).%")",
                        logger: self.logger
                    ).decode(Int.self) {
                        waiting = count
                    }
                    return waiting == 0
                }
                #expect(drained)
            }
        }
    }

}

/// Messages a subscription delivered, shared with the test's task.
final class Received: Sendable {
    private let messages = Mutex<[NATSMessage]>([])

    func withLock<R>(_ body: (inout [NATSMessage]) -> R) -> R { self.messages.withLock { body(&$0) } }

}

extension IdentityAPITests {
    /// A unit is changed with If-Match (428 without, 412 when stale) and deleted only once nobody
    /// lives there and no device rings for it; both are announced.
    @Test func unitsChangeWithETagsAndAreDeletedOnlyWhenUnused() async throws {
        try await self.withAPI { tenant, nats, postgres, client in
            try await self.collectingEvents(of: tenant, from: nats) { received in
                let admin = try self.token(.tenantAdmin, tenant: tenant)
                let topology = TopologyStore(client: postgres)
                let site = UUID(
                    uuidString: try await topology.createSite(
                        tenant: tenant,
                        name: "Units",
                        timeZone: "UTC",
                        sipDomain: "units-\(UUID().uuidString.prefix(8).lowercased()).example.org",
                        logger: self.logger
                    ).id
                )!
                let a = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "A", logger: self.logger).id)!
                let b = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "B", logger: self.logger).id)!
                func unit(_ dial: String) async throws -> UUID {
                    UUID(
                        uuidString: try await topology.createUnit(
                            tenant: tenant,
                            site: site,
                            building: a,
                            dialNumber: dial,
                            floor: "1",
                            ringSeconds: 30,
                            logger: self.logger
                        ).id
                    )!
                }
                let first = try await unit("101")
                _ = try await unit("102")
                let path = "/v1/tenants/\(tenant)/units/\(first)"
                #expect(try await self.call(client, .get, path, token: admin).headers[.eTag] == "\"v1\"")
                let change = #"{"dialNumber":"103","floor":null,"buildingId":"\#(b)"}"#
                #expect(try await self.call(client, .patch, path, token: admin, json: change).status == .preconditionRequired)
                #expect(
                    try await self.call(client, .patch, path, token: admin, json: change, headers: [.ifMatch: "\"v9\""]).status == .preconditionFailed
                )
                let changed = try await self.call(client, .patch, path, token: admin, json: change, headers: [.ifMatch: "\"v1\""])
                #expect(changed.status == .ok && changed.headers[.eTag] == "\"v2\"", "\(changed.body)")
                #expect(changed.json["dialNumber"] as? String == "103" && changed.json["floor"] == nil)
                #expect(changed.json["buildingId"] as? String == b.lowercasedString)
                let clash = try await self.call(client, .patch, path, token: admin, json: #"{"dialNumber":"102"}"#, headers: [.ifMatch: "\"v2\""])
                #expect(clash.status == .conflict)
                let elsewhere = #"{"buildingId":"\#(UUID())"}"#
                #expect(try await self.call(client, .patch, path, token: admin, json: elsewhere, headers: [.ifMatch: "\"v2\""]).status == .badRequest)
                // Nobody may live there and no device ring for it.
                let person = try await PeopleStore(client: postgres).create(
                    tenant: tenant,
                    PersonInput(kind: .resident, displayName: "R"),
                    logger: self.logger
                ).id
                #expect(try await topology.setResident(tenant: tenant, unit: first, person: person, role: "owner", logger: self.logger))
                #expect(try await self.call(client, .delete, path, token: admin).status == .conflict)
                #expect(try await topology.removeResident(tenant: tenant, unit: first, person: person, logger: self.logger) == .removed)
                #expect(try await self.call(client, .delete, path, token: admin).status == .noContent)
                #expect(try await self.call(client, .get, path, token: admin).status == .notFound)
                #expect(try await self.call(client, .delete, path, token: admin).status == .notFound)

                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        received.withLock { $0.contains { $0.subject.hasSuffix(".identity.unit_deleted") } }
                    }
                )
                let events = try received.withLock { $0 }.map { message in
                    (try WireCoding.decode(CloudEventHeader.self, from: Data(message.payload)).type, message.payload)
                }
                let updated = try #require(events.first { $0.0 == UnitUpdated.eventType.type })
                let document = try WireCoding.decode(CloudEvent<UnitUpdated>.self, from: Data(updated.1)).data.resource
                #expect(document == UnitDocument(id: first, siteId: site, buildingId: b, dialNumber: "103", floor: nil, version: 2))
                #expect(events.filter { $0.0 == UnitUpdated.eventType.type }.count == 1)  // the refused changes announce nothing
            }
        }
    }

    /// Sites and buildings change with If-Match and are deleted only when empty (409 naming what is
    /// left); each change is announced.
    @Test func sitesAndBuildingsChangeWithETagsAndAreDeletedOnlyWhenEmpty() async throws {
        try await self.withAPI { tenant, nats, postgres, client in
            try await self.collectingEvents(of: tenant, from: nats) { received in
                let admin = try self.token(.tenantAdmin, tenant: tenant)
                let suffix = UUID().uuidString.prefix(8).lowercased()
                let topology = TopologyStore(client: postgres)
                let site = try await topology.createSite(
                    tenant: tenant,
                    name: "Old",
                    timeZone: "UTC",
                    sipDomain: "s-\(suffix).example.org",
                    logger: self.logger
                )
                let other = try await topology.createSite(
                    tenant: tenant,
                    name: "Other",
                    timeZone: "UTC",
                    sipDomain: "o-\(suffix).example.org",
                    logger: self.logger
                )
                let building = try await topology.createBuilding(tenant: tenant, site: UUID(uuidString: site.id)!, name: "A", logger: self.logger)
                let sitePath = "/v1/tenants/\(tenant)/sites/\(site.id)"
                let buildingPath = "/v1/tenants/\(tenant)/buildings/\(building.id)"

                #expect(try await self.call(client, .get, sitePath, token: admin).headers[.eTag] == "\"v1\"")
                // Sites come a page at a time, in name order.
                let first = try await self.call(client, .get, "/v1/tenants/\(tenant)/sites?limit=1", token: admin)
                #expect((first.json["sites"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Old"])
                let cursor = try #require(first.json["nextCursor"] as? String)
                let second = try await self.call(client, .get, "/v1/tenants/\(tenant)/sites?limit=1&cursor=\(cursor)", token: admin)
                #expect((second.json["sites"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Other"])
                #expect(second.json["nextCursor"] == nil)
                #expect(try await self.call(client, .get, "/v1/tenants/\(tenant)/sites?limit=0", token: admin).status == .badRequest)
                let rename = #"{"name":"New","timeZone":"Europe/Berlin"}"#
                #expect(try await self.call(client, .patch, sitePath, token: admin, json: rename).status == .preconditionRequired)
                let renamed = try await self.call(client, .patch, sitePath, token: admin, json: rename, headers: [.ifMatch: "\"v1\""])
                #expect(renamed.status == .ok && renamed.headers[.eTag] == "\"v2\"" && renamed.json["timeZone"] as? String == "Europe/Berlin")
                #expect(renamed.json["sipDomain"] as? String == site.sipDomain)
                #expect(
                    try await self.call(client, .patch, sitePath, token: admin, json: rename, headers: [.ifMatch: "\"v1\""]).status
                        == .preconditionFailed
                )
                // The SIP domain is fixed (the devices' digests are made with it); names are unique.
                let domain = #"{"sipDomain":"new-\#(suffix).example.org"}"#
                #expect(
                    try await self.call(client, .patch, sitePath, token: admin, json: domain, headers: [.ifMatch: "\"v2\""]).status == .badRequest
                )
                let clash = #"{"name":"Other"}"#
                #expect(try await self.call(client, .patch, sitePath, token: admin, json: clash, headers: [.ifMatch: "\"v2\""]).status == .conflict)
                #expect(
                    try await self.call(client, .patch, sitePath, token: admin, json: #"{"timeZone":"Mars/Olympus"}"#, headers: [.ifMatch: "\"v2\""])
                        .status == .badRequest
                )

                #expect(try await self.call(client, .get, buildingPath, token: admin).headers[.eTag] == "\"v1\"")
                let house = try await self.call(
                    client,
                    .patch,
                    buildingPath,
                    token: admin,
                    json: #"{"name":"House A"}"#,
                    headers: [.ifMatch: "\"v1\""]
                )
                #expect(house.status == .ok && house.json["name"] as? String == "House A" && house.headers[.eTag] == "\"v2\"")

                // Not empty: the building has a unit, the site a building.
                let unit = try await topology.createUnit(
                    tenant: tenant,
                    site: UUID(uuidString: site.id)!,
                    building: UUID(uuidString: building.id)!,
                    dialNumber: "1",
                    floor: nil,
                    ringSeconds: 30,
                    logger: self.logger
                )
                let refused = try await self.call(client, .delete, buildingPath, token: admin)
                #expect(refused.status == .conflict && refused.body.contains("1 unit(s)"), "\(refused.body)")
                #expect(try await self.call(client, .delete, sitePath, token: admin).status == .conflict)
                #expect(try await self.call(client, .delete, "/v1/tenants/\(tenant)/units/\(unit.id)", token: admin).status == .noContent)
                #expect(try await self.call(client, .delete, buildingPath, token: admin).status == .noContent)
                #expect(try await self.call(client, .get, buildingPath, token: admin).status == .notFound)
                #expect(try await self.call(client, .delete, sitePath, token: admin).status == .noContent)
                #expect(try await self.call(client, .get, sitePath, token: admin).status == .notFound)
                // Another tenant's admin finds none of it.
                let stranger = try self.token(.tenantAdmin, tenant: TenantID(UUID()))
                #expect(try await self.call(client, .delete, "/v1/tenants/\(tenant)/sites/\(other.id)", token: stranger).status == .notFound)

                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        received.withLock { $0.contains { $0.subject.hasSuffix(".identity.site_deleted") } }
                    }
                )
                let types = try received.withLock { $0 }.map { try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)).type }
                let wanted = [
                    SiteUpdated.eventType, BuildingUpdated.eventType, UnitDeleted.eventType, BuildingDeleted.eventType, SiteDeleted.eventType,
                ]
                #expect(types.filter { type in wanted.contains { $0.type == type } } == wanted.map(\.type))
            }
        }
    }

    /// The operator creates, lists and deletes tenants; the tenant's admin reads and renames theirs
    /// but neither lists nor deletes; a tenant is deleted only once empty, then answers 404, keeps
    /// its slug and gets nothing new.
    @Test func tenantsAreManagedByTheOperatorAndDeletedOnlyWhenEmpty() async throws {
        try await self.withAPI { _, nats, postgres, client in
            let operatorToken = try self.token(.operatorAdmin, tenant: .operator)
            let slug = "t-\(UUID().uuidString.prefix(8).lowercased())"
            let body = #"{"slug":"\#(slug)","name":"Harbour Homes","defaultTimeZone":"Europe/Berlin"}"#
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "create-\(slug)"]
            let created = try await self.call(client, .post, "/v1/tenants", token: operatorToken, json: body, headers: key)
            #expect(created.status == .created && created.headers[.eTag] == "\"v1\"", "\(created.body)")
            let tenantID = try #require(created.json["id"] as? String)
            let tenant = try #require(TenantID(tenantID))
            #expect(created.headers[.location] == "/v1/tenants/\(tenant)")
            // The retry answers the first response; the slug is not taken twice.
            let retried = try await self.call(client, .post, "/v1/tenants", token: operatorToken, json: body, headers: key)
            #expect(retried.status == .created && retried.json["id"] as? String == tenant.description)
            #expect(try await self.call(client, .post, "/v1/tenants", token: operatorToken, json: body).status == .conflict)
            let bad = try await self.call(client, .post, "/v1/tenants", token: operatorToken, json: #"{"slug":"-No","name":""}"#)
            #expect(bad.status == .badRequest && bad.body.contains("slug") && bad.body.contains("name"), "\(bad.body)")

            try await self.collectingEvents(of: tenant, from: nats) { received in
                let admin = try self.token(.tenantAdmin, tenant: tenant)
                let path = "/v1/tenants/\(tenant)"
                #expect(try await self.call(client, .get, "/v1/tenants", token: admin).status == .forbidden)
                #expect(try await self.call(client, .delete, path, token: admin).status == .forbidden)
                #expect(try await self.call(client, .get, path, token: try self.token(.tenantAdmin, tenant: TenantID(UUID()))).status == .notFound)
                let read = try await self.call(client, .get, path, token: admin)
                #expect(read.status == .ok && read.json["slug"] as? String == slug && read.json["defaultTimeZone"] as? String == "Europe/Berlin")
                let rename = #"{"name":"Harbour Estates","defaultTimeZone":"UTC"}"#
                #expect(try await self.call(client, .patch, path, token: admin, json: rename).status == .preconditionRequired)
                #expect(
                    try await self.call(client, .patch, path, token: admin, json: #"{"slug":"other"}"#, headers: [.ifMatch: "\"v1\""]).status
                        == .badRequest
                )
                let renamed = try await self.call(client, .patch, path, token: admin, json: rename, headers: [.ifMatch: "\"v1\""])
                #expect(renamed.status == .ok && renamed.headers[.eTag] == "\"v2\"" && renamed.json["name"] as? String == "Harbour Estates")

                // The operator pages through every live tenant, this one included.
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let page = try await self.call(
                        client,
                        .get,
                        "/v1/tenants?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                        token: operatorToken
                    )
                    #expect(page.status == .ok)
                    seen += (page.json["tenants"] as? [[String: Any]] ?? []).compactMap { $0["slug"] as? String }
                    cursor = page.json["nextCursor"] as? String
                } while cursor != nil && seen.count < 10_000
                #expect(seen.contains(slug) && seen == seen.sorted() && Set(seen).count == seen.count)

                // Not empty: a site and a live person keep it; an erased person does not.
                let site = try await TopologyStore(client: postgres).createSite(
                    tenant: tenant,
                    name: "Quay",
                    timeZone: "UTC",
                    sipDomain: "\(slug).example.org",
                    logger: self.logger
                )
                let person = try await PeopleStore(client: postgres).create(
                    tenant: tenant,
                    PersonInput(kind: .resident, displayName: "R"),
                    logger: self.logger
                )
                let (apiKey, _) = try await APIKeyStore(client: postgres).create(
                    tenant: tenant,
                    name: "Feed",
                    domains: ["access"],
                    logger: self.logger
                )
                let refused = try await self.call(client, .delete, path, token: operatorToken)
                #expect(refused.status == .conflict && refused.body.contains("1 site(s)") && refused.body.contains("1 person(s)"), "\(refused.body)")
                #expect(try await TopologyStore(client: postgres).deleteSite(tenant: tenant, id: UUID(uuidString: site.id)!, logger: self.logger))
                _ = try await PeopleStore(client: postgres).erase(tenant: tenant, id: person.id, logger: self.logger)
                #expect(try await self.call(client, .delete, path, token: operatorToken).status == .noContent)
                #expect(try await self.call(client, .get, path, token: operatorToken).status == .notFound)
                #expect(try await self.call(client, .delete, path, token: operatorToken).status == .notFound)
                #expect(try await APIKeyStore(client: postgres).list(tenant: tenant, logger: self.logger).allSatisfy { $0.revokedAt != nil })
                // Nothing new in it, through any door: the slug stays taken, sites and people are refused.
                #expect(try await self.call(client, .post, "/v1/tenants", token: operatorToken, json: body).status == .conflict)
                let site2 = #"{"name":"Again","timeZone":"UTC","sipDomain":"again-\#(slug).example.org"}"#
                #expect(try await self.call(client, .post, "\(path)/sites", token: operatorToken, json: site2).status == .notFound)
                let someone = #"{"kind":"resident","displayName":"Late"}"#
                #expect(try await self.call(client, .post, "\(path)/people", token: operatorToken, json: someone).status == .notFound)
                await #expect(throws: PSQLError.self) {
                    try await ImportJobStore(client: postgres).create(tenant: tenant, dryRun: true, logger: self.logger)
                }
                await #expect(throws: TenantStoreError.deleted) {
                    try await TenantStore(client: postgres).ensure(slug: slug, name: "Again", logger: self.logger)
                }
                let listed = try await self.call(client, .get, "/v1/tenants?limit=500", token: operatorToken)
                #expect(!((listed.json["tenants"] as? [[String: Any]] ?? []).contains { $0["slug"] as? String == slug }))

                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        received.withLock { $0.contains { $0.subject.hasSuffix(".identity.tenant_deleted") } }
                    }
                )
                let events = try received.withLock { $0 }.map { message in
                    (try WireCoding.decode(CloudEventHeader.self, from: Data(message.payload)).type, message.payload)
                }
                let wanted = [TenantUpdated.eventType, APIKeyRevoked.eventType, TenantDeleted.eventType].map(\.type)
                #expect(events.map(\.0).filter(wanted.contains) == wanted)
                let deleted = try #require(events.first { $0.0 == TenantDeleted.eventType.type })
                let document = try WireCoding.decode(CloudEvent<TenantDeleted>.self, from: Data(deleted.1)).data.resource
                #expect(document == TenantDocument(id: tenant, slug: slug, name: "Harbour Estates", defaultTimeZone: "UTC", version: 2))
                _ = apiKey
            }
        }
    }

    /// A door is read, changed with If-Match (moved between its site's buildings or made the
    /// site's) and deleted only once no live station serves it; staff lose deleted places.
    @Test func doorsChangeAndGoOnlyWithoutLiveStationsAndStaffLoseDeletedPlaces() async throws {
        try await self.withAPI { tenant, nats, postgres, client in
            try await self.collectingEvents(of: tenant, from: nats) { received in
                let admin = try self.token(.tenantAdmin, tenant: tenant)
                let topology = TopologyStore(client: postgres)
                let devices = DeviceStore(client: postgres)
                let site = UUID(
                    uuidString: try await topology.createSite(
                        tenant: tenant,
                        name: "Doors",
                        timeZone: "UTC",
                        sipDomain: "doors-\(UUID().uuidString.prefix(8).lowercased()).example.org",
                        logger: self.logger
                    ).id
                )!
                let a = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "A", logger: self.logger).id)!
                let b = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "B", logger: self.logger).id)!
                let door = try await devices.createDoor(tenant: tenant, site: site, building: a, name: "Entrance", kind: .door, logger: self.logger)
                _ = try await devices.createDoor(tenant: tenant, site: site, building: nil, name: "Garage", kind: .gate, logger: self.logger)
                // The site's doors, a page at a time in name order.
                let list = "/v1/tenants/\(tenant)/sites/\(site.lowercasedString)/doors?limit=1"
                let first = try await self.call(client, .get, list, token: admin)
                let cursor = try #require(first.json["nextCursor"] as? String)
                let second = try await self.call(client, .get, list + "&cursor=\(cursor)", token: admin)
                let names = [first, second].flatMap { ($0.json["doors"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
                #expect(names == ["Entrance", "Garage"] && second.json["nextCursor"] == nil)
                #expect(try await self.call(client, .get, list + "&cursor=%21", token: admin).status == .badRequest)
                let path = "/v1/tenants/\(tenant)/doors/\(door.id)"
                let read = try await self.call(client, .get, path, token: admin)
                #expect(read.status == .ok && read.headers[.eTag] == "\"v1\"" && read.json["buildingId"] as? String == a.lowercasedString)
                let move = #"{"buildingId":"\#(b)","name":"Main entrance"}"#
                #expect(try await self.call(client, .patch, path, token: admin, json: move).status == .preconditionRequired)
                let moved = try await self.call(client, .patch, path, token: admin, json: move, headers: [.ifMatch: "\"v1\""])
                #expect(moved.status == .ok && moved.json["buildingId"] as? String == b.lowercasedString && moved.headers[.eTag] == "\"v2\"")
                #expect(
                    try await self.call(client, .patch, path, token: admin, json: move, headers: [.ifMatch: "\"v1\""]).status == .preconditionFailed
                )
                let shared = try await self.call(
                    client,
                    .patch,
                    path,
                    token: admin,
                    json: #"{"buildingId":null,"kind":"gate"}"#,
                    headers: [.ifMatch: "\"v2\""]
                )
                #expect(shared.status == .ok && shared.json["buildingId"] == nil && shared.json["kind"] as? String == "gate", "\(shared.body)")
                #expect(
                    try await self.call(client, .patch, path, token: admin, json: #"{"name":"Garage"}"#, headers: [.ifMatch: "\"v3\""]).status
                        == .conflict
                )
                let elsewhere = #"{"buildingId":"\#(UUID())"}"#
                #expect(try await self.call(client, .patch, path, token: admin, json: elsewhere, headers: [.ifMatch: "\"v3\""]).status == .badRequest)

                // A live station keeps the door; a revoked one goes with it.
                let (station, _) = try await devices.create(
                    tenant: tenant,
                    DeviceInput(siteId: site, kind: .doorStation, name: "Station", doorId: door.id),
                    logger: self.logger
                )
                let refused = try await self.call(client, .delete, path, token: admin)
                #expect(refused.status == .conflict && refused.body.contains("1 door station(s)"), "\(refused.body)")
                _ = try await devices.revoke(tenant: tenant, id: station.id, logger: self.logger)
                #expect(try await self.call(client, .delete, path, token: admin).status == .noContent)
                #expect(try await self.call(client, .get, path, token: admin).status == .notFound)
                #expect(try await devices.get(tenant: tenant, id: station.id, logger: self.logger) == nil)

                // Staff places: ids of this tenant only, and a deleted building leaves them.
                let people = "/v1/tenants/\(tenant)/people"
                let stranger = #"{"kind":"staff","displayName":"C","staffRole":"staff","buildingIds":["\#(UUID())"]}"#
                let unknown = try await self.call(client, .post, people, token: admin, json: stranger)
                #expect(unknown.status == .badRequest && unknown.body.contains("buildingIds"), "\(unknown.body)")
                let resident = #"{"kind":"resident","displayName":"R","siteIds":["\#(site)"]}"#
                #expect(try await self.call(client, .post, people, token: admin, json: resident).status == .badRequest)
                let concierge = try await self.call(
                    client,
                    .post,
                    people,
                    token: admin,
                    json: #"{"kind":"staff","displayName":"C","staffRole":"staff","buildingIds":["\#(a)","\#(b)"],"siteIds":["\#(site)"]}"#
                )
                #expect(concierge.status == .created && (concierge.json["buildingIds"] as? [String])?.count == 2, "\(concierge.body)")
                let conciergeID = try #require(concierge.json["id"] as? String)
                let conciergePath = "\(people)/\(conciergeID)"
                #expect(try await self.call(client, .delete, "/v1/tenants/\(tenant)/buildings/\(a)", token: admin).status == .noContent)
                let after = try await self.call(client, .get, conciergePath, token: admin)
                #expect(after.json["buildingIds"] as? [String] == [b.lowercasedString] && after.headers[.eTag] == "\"v2\"", "\(after.body)")
                let cleared = try await self.call(
                    client,
                    .patch,
                    conciergePath,
                    token: admin,
                    json: #"{"siteIds":null}"#,
                    headers: [.ifMatch: "\"v2\""]
                )
                #expect(cleared.status == .ok && cleared.json["siteIds"] as? [String] == [])

                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        received.withLock { $0.filter { $0.subject.hasSuffix(".identity.person_updated") }.count == 2 }
                    }
                )
                let types = try received.withLock { $0 }.map { try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)).type }
                // The building's deletion and the patch each change the concierge.
                let wanted = [
                    DoorUpdated.eventType, DoorUpdated.eventType, DoorDeleted.eventType, PersonCreated.eventType, PersonUpdated.eventType,
                    PersonUpdated.eventType,
                ]
                #expect(types.filter { type in wanted.contains { $0.type == type } } == wanted.map(\.type))
            }
        }
    }

    /// A retried create with the same Idempotency-Key makes nothing twice: places answer the first
    /// response again; a device or API key, whose secret was shown once and not kept, answers 409
    /// naming what the first request made.
    @Test func retriedCreatesWithAnIdempotencyKeyMakeNothingTwice() async throws {
        try await self.withAPI { tenant, _, _, client in
            let admin = try self.token(.tenantAdmin, tenant: tenant)
            let base = "/v1/tenants/\(tenant)"
            func twice(_ path: String, _ body: String, key: String) async throws -> (Reply, Reply) {
                let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: key]
                let first = try await self.call(client, .post, path, token: admin, json: body, headers: headers)
                let second = try await self.call(client, .post, path, token: admin, json: body, headers: headers)
                return (first, second)
            }
            let suffix = UUID().uuidString.prefix(8).lowercased()
            let (site, siteAgain) = try await twice(
                "\(base)/sites",
                #"{"name":"Retry","timeZone":"UTC","sipDomain":"retry-\#(suffix).example.org"}"#,
                key: "site-1"
            )
            #expect(site.status == .created && siteAgain.status == .created, "\(siteAgain.body)")
            let siteID = try #require(site.json["id"] as? String)
            #expect(siteAgain.json["id"] as? String == siteID && siteAgain.headers[.location] == "\(base)/sites/\(siteID)")
            // The same key with another body is refused.
            let other = try await self.call(
                client,
                .post,
                "\(base)/sites",
                token: admin,
                json: #"{"name":"Other","timeZone":"UTC","sipDomain":"other-\#(suffix).example.org"}"#,
                headers: [HTTPField.Name("Idempotency-Key")!: "site-1"]
            )
            #expect(other.status == .unprocessableContent)

            let (building, buildingAgain) = try await twice("\(base)/sites/\(siteID)/buildings", #"{"name":"A"}"#, key: "building-1")
            #expect(building.status == .created && buildingAgain.json["id"] as? String == building.json["id"] as? String)
            let buildingID = try #require(building.json["id"] as? String)
            let (unit, unitAgain) = try await twice(
                "\(base)/sites/\(siteID)/units",
                #"{"buildingId":"\#(buildingID)","dialNumber":"7"}"#,
                key: "unit-1"
            )
            #expect(unit.status == .created && unitAgain.status == .created && unitAgain.json["id"] as? String == unit.json["id"] as? String)
            let unitID = try #require(unit.json["id"] as? String)

            // Devices: no second device, and the password is not shown again.
            let (device, deviceAgain) = try await twice(
                "\(base)/devices",
                #"{"siteId":"\#(siteID)","kind":"sip_phone","name":"Phone","unitId":"\#(unitID)"}"#,
                key: "device-1"
            )
            #expect(device.status == .created && (device.json["sipPassword"] as? String)?.count == 20)
            let deviceID = try #require(device.json["id"] as? String)
            #expect(deviceAgain.status == .conflict && deviceAgain.json["type"] as? String == "urn:gatehouse:problem:secret-already-shown")
            #expect(deviceAgain.body.contains(deviceID) && !deviceAgain.body.contains(device.json["sipPassword"] as? String ?? "-"))
            let devices = try await self.call(client, .get, "\(base)/devices?siteId=\(siteID)", token: admin)
            #expect((devices.json["devices"] as? [[String: Any]])?.count == 1)

            let (apiKey, apiKeyAgain) = try await twice("\(base)/api-keys", #"{"name":"Feed","domains":["access"]}"#, key: "key-1")
            #expect(apiKey.status == .created && (apiKey.json["key"] as? String)?.hasPrefix("ghk_") == true)
            #expect(apiKeyAgain.status == .conflict && !apiKeyAgain.body.contains(apiKey.json["key"] as? String ?? "-"))
        }
    }

    /// A resident invites a guest for a while; nobody else may for them; the guest cannot invite;
    /// once the invitation ends the guest's record is erased and announced.
    @Test func residentsInviteGuestsWhoseRecordsEndWithTheInvitation() async throws {
        try await self.withAPI { tenant, nats, postgres, client in
            try await self.collectingEvents(of: tenant, from: nats) { received in
                let people = PeopleStore(client: postgres)
                let ada = try await people.create(tenant: tenant, PersonInput(kind: .resident, displayName: "Ada"), logger: self.logger).id
                let bob = try await people.create(tenant: tenant, PersonInput(kind: .resident, displayName: "Bob"), logger: self.logger).id
                let adaToken = try self.signer.sign(AccessClaims(subject: ada.lowercasedString, tenant: tenant, role: .resident))
                let bobToken = try self.signer.sign(AccessClaims(subject: bob.lowercasedString, tenant: tenant, role: .resident))
                let path = "/v1/tenants/\(tenant)/people/\(ada.lowercasedString)/guests"
                let until = Date().addingTimeInterval(2 * 3600)
                let body = #"{"displayName":"Grandma","phone":"+49 30 1234567","validUntil":"\#(WireCoding.format(until))"}"#

                let invited = try await self.call(client, .post, path, token: adaToken, json: body)
                #expect(invited.status == .created, "\(invited.body)")
                #expect(invited.json["kind"] as? String == "guest" && invited.json["hostPersonId"] as? String == ada.lowercasedString)
                #expect((invited.json["expiresAt"] as? String).flatMap(WireCoding.parse).map { abs($0.timeIntervalSince(until)) < 1 } == true)
                let guest = try #require((invited.json["id"] as? String).flatMap(UUID.init(uuidString:)))
                // Only Ada (or an administrator) invites for Ada; a guest invites nobody.
                #expect(try await self.call(client, .post, path, token: bobToken, json: body).status == .forbidden)
                let guestToken = try self.signer.sign(AccessClaims(subject: guest.lowercasedString, tenant: tenant, role: .guest))
                let byGuest = "/v1/tenants/\(tenant)/people/\(guest.lowercasedString)/guests"
                #expect(try await self.call(client, .post, byGuest, token: guestToken, json: #"{"displayName":"Friend"}"#).status == .notFound)
                let tooLong = #"{"displayName":"Lodger","validUntil":"\#(WireCoding.format(Date().addingTimeInterval(40 * 86400)))"}"#
                let refused = try await self.call(client, .post, path, token: adaToken, json: tooLong)
                #expect(refused.status == .badRequest && refused.body.contains("validUntil"))
                let listed = try await self.call(client, .get, path, token: adaToken)
                #expect((listed.json["guests"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [guest.lowercasedString])
                #expect(try await self.call(client, .get, path, token: bobToken).status == .forbidden)

                // The invitation ends: the sweep erases the guest (and only expired guests).
                let expiry = GuestExpiry(client: postgres, logger: self.logger)
                _ = try await expiry.sweep(now: Date())
                #expect(try await people.get(tenant: tenant, id: guest, logger: self.logger)?.erasedAt == nil)
                _ = try await expiry.sweep(now: until.addingTimeInterval(1))
                let erased = try #require(try await people.get(tenant: tenant, id: guest, logger: self.logger))
                #expect(erased.erasedAt != nil && erased.displayName == "Erased person" && erased.phone == nil)
                #expect((try await self.call(client, .get, path, token: adaToken).json["guests"] as? [[String: Any]])?.isEmpty == true)
                // Erasing a host erases the guests they invited with them.
                let second = try await self.call(client, .post, path, token: adaToken, json: #"{"displayName":"Neighbour"}"#)
                let neighbour = try #require((second.json["id"] as? String).flatMap(UUID.init(uuidString:)))
                _ = try await people.erase(tenant: tenant, id: ada, logger: self.logger)
                #expect(try await people.get(tenant: tenant, id: neighbour, logger: self.logger)?.erasedAt != nil)
                #expect(try await people.get(tenant: tenant, id: bob, logger: self.logger)?.erasedAt == nil)
                #expect(
                    try await eventually(timeout: .seconds(20)) {
                        received.withLock { $0.contains { $0.subject.hasSuffix(".identity.person_erased") } }
                    }
                )
            }
        }
    }
}
