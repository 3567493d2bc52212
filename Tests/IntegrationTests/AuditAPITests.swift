import AuditService
import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import Hummingbird
import HummingbirdTesting
import IdentityService
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

/// The support-staff audit API over HTTP, against real PostgreSQL, with real tokens.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME", "NATS_URL"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct AuditAPITests {
    let logger = Logger(label: "test")
    let signer = try! TokenSigner(seed: Array(repeating: 42, count: 32))
    let tenant = TenantID(UUID())
    let siteA = UUID()
    let siteB = UUID()
    let buildingA = UUID()
    let door = UUID()
    let person = UUID()
    static let schema = AuditService.schema

    func token(_ role: Role, tenant: TenantID? = nil, sites: [UUID]? = nil, buildings: [UUID]? = nil) throws -> String {
        try self.signer.sign(AccessClaims(subject: "test", tenant: tenant ?? self.tenant, role: role, sites: sites, buildings: buildings))
    }

    /// 30 events: 10 at site A (building A, the door, about the person, denied), 10 at site B, 10 without a site.
    func seed(_ client: PostgresClient, keyring: PersonKeyring) async throws {
        try await MigrationRunner(schema: Self.schema, migrations: AuditService.migrations).run(on: client, logger: self.logger)
        let base = Date(timeIntervalSince1970: 1_795_000_000)
        let events: [Classified] = try (0..<30).map { index in
            let context: EventContext =
                switch index % 3 {
                case 0:
                    EventContext(
                        site: self.siteA,
                        building: self.buildingA,
                        door: self.door,
                        person: self.person,
                        outcome: "denied",
                        reason: "invalidTime"
                    )
                case 1: EventContext(site: self.siteB, outcome: "granted")
                default: EventContext()
                }
            let event = CloudEvent(
                source: EventSource(service: .access, instance: "a-1"),
                time: base.addingTimeInterval(Double(index) * 60),
                subject: "door/\(index)",
                tenant: self.tenant,
                context: context,
                data: EventProbe(run: "api, \"quoted\"", number: index + 1)
            )
            return EventClassifier().classify(
                natsSubject: event.natsSubject,
                payload: Array(try WireCoding.encode(event)),
                streamSequence: UInt64(index + 1)
            )
        }
        _ = try await AuditWriter(client: client, keyring: keyring).write(events, logger: self.logger)
    }

    func withAPI(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await withTestPostgres { client in
            let keyring = PersonKeyring.ephemeral()
            try await self.seed(client, keyring: keyring)
            let router = Router()
            router.add(middleware: ProblemMiddleware())
            AuditAPI(client: client, source: try .testDatabase(), keyring: keyring, keys: AuthKeys(JWKS(keys: [self.signer.publicJWK]))).register(
                on: router
            )
            try await Application(router: router).test(.router) { client in try await body(client) }
        }
    }

    func get(_ client: any TestClientProtocol, _ path: String, token: String?) async throws -> (
        status: HTTPResponse.Status, body: String, type: String?
    ) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: path, method: .get, headers: headers) { response in
            (response.status, String(buffer: response.body), response.headers[.contentType])
        }
    }

    func records(_ body: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?["records"] as? [[String: Any]] ?? []
    }

    var base: String { "/v1/tenants/\(self.tenant)/audit" }

    @Test func everyRouteAnswersEachRoleAsDocumented() async throws {
        try await self.withAPI { client in
            let routes = ["records", "records/1", "export", "verify"]
            // Role → expected status per route (docs/security.md).
            let expected: [(String?, [HTTPResponse.Status])] = [
                (nil, [.unauthorized, .unauthorized, .unauthorized, .unauthorized]),
                ("garbage", [.unauthorized, .unauthorized, .unauthorized, .unauthorized]),
                (try self.token(.operatorAdmin, tenant: .operator), [.ok, .ok, .ok, .ok]),
                (try self.token(.tenantAdmin), [.ok, .ok, .ok, .ok]),
                (try self.token(.propertyManager, sites: [self.siteA]), [.ok, .ok, .ok, .forbidden]),
                (try self.token(.staff, buildings: [self.buildingA]), [.ok, .ok, .forbidden, .forbidden]),
                (try self.token(.resident), [.forbidden, .forbidden, .forbidden, .forbidden]),
                (try self.token(.guest), [.forbidden, .forbidden, .forbidden, .forbidden]),
                (try self.token(.integrator), [.forbidden, .forbidden, .forbidden, .forbidden]),
                // Another tenant's admin: the tenant does not exist for them.
                (try self.token(.tenantAdmin, tenant: TenantID(UUID())), [.notFound, .notFound, .notFound, .notFound]),
            ]
            for (token, statuses) in expected {
                for (route, status) in zip(routes, statuses) {
                    let response = try await self.get(client, "\(self.base)/\(route)", token: token)
                    #expect(response.status == status, "\(route) with \(token?.prefix(12) ?? "no token"): \(response.body.prefix(200))")
                    if status.code >= 400 {
                        #expect(response.type == "application/problem+json")
                    }
                }
            }
        }
    }

    @Test func pagesAreNewestFirstAndCoverEveryRecordOnce() async throws {
        try await self.withAPI { client in
            let token = try self.token(.tenantAdmin)
            var seen: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                let response = try await self.get(client, "\(self.base)/records?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                #expect(response.status == .ok)
                seen += try self.records(response.body).compactMap { $0["sequence"] as? Int }
                let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
                cursor = object?["nextCursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == Array((1...30).reversed()))
            #expect(pages == 5)
        }
    }

    @Test func filtersNarrowAndShowWhoWhatWhereWhy() async throws {
        try await self.withAPI { client in
            let token = try self.token(.tenantAdmin)
            let byDoor = try self.records(try await self.get(client, "\(self.base)/records?door=\(self.door)&limit=500", token: token).body)
            #expect(byDoor.count == 10)
            let first = try #require(byDoor.first)
            #expect(first["personId"] as? String == self.person.lowercasedString)
            #expect(first["outcome"] as? String == "denied" && first["reason"] as? String == "invalidTime")
            #expect(first["sealed"] as? Bool == true && (first["event"] as? [String: Any])?["data"] != nil)
            #expect((first["links"] as? [String: String])?["person"]?.contains(self.person.lowercasedString) == true)
            #expect(try self.records(try await self.get(client, "\(self.base)/records?outcome=granted&limit=500", token: token).body).count == 10)
            #expect(
                try self.records(try await self.get(client, "\(self.base)/records?person=\(self.person)&limit=500", token: token).body).count == 10
            )
            // The first ten minutes: records 1…10 occurred at 0…9 minutes.
            let window = "from=2026-11-18T11:06:40Z&to=2026-11-18T11:16:40Z"
            #expect(try self.records(try await self.get(client, "\(self.base)/records?\(window)&limit=500", token: token).body).count == 10)
            let type = "io.gatehouse.system.probe.v1"
            #expect(try self.records(try await self.get(client, "\(self.base)/records?type=\(type)&limit=500", token: token).body).count == 30)
            #expect(try self.records(try await self.get(client, "\(self.base)/records?type=io.x&limit=500", token: token).body).isEmpty)
        }
    }

    @Test func placesLimitWhatStaffSee() async throws {
        try await self.withAPI { client in
            let manager = try self.token(.propertyManager, sites: [self.siteB])
            let visible = try self.records(try await self.get(client, "\(self.base)/records?limit=500", token: manager).body)
            #expect(visible.count == 10 && visible.allSatisfy { $0["siteId"] as? String == self.siteB.lowercasedString })
            // A record of another site is not found for them; asking for that site yields nothing.
            #expect(try await self.get(client, "\(self.base)/records/1", token: manager).status == .notFound)
            #expect(try self.records(try await self.get(client, "\(self.base)/records?site=\(self.siteA)", token: manager).body).isEmpty)
            let staff = try self.token(.staff, buildings: [self.buildingA])
            #expect(try self.records(try await self.get(client, "\(self.base)/records?limit=500", token: staff).body).count == 10)
            let nowhere = try self.token(.propertyManager)
            #expect(try self.records(try await self.get(client, "\(self.base)/records", token: nowhere).body).isEmpty)
        }
    }

    @Test func badQueriesGetFieldLevelProblems() async throws {
        try await self.withAPI { client in
            let token = try self.token(.tenantAdmin)
            let response = try await self.get(client, "\(self.base)/records?site=nope&from=yesterday&limit=0&outcome=", token: token)
            #expect(response.status == .badRequest && response.type == "application/problem+json")
            let problem = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
            #expect(problem?["type"] as? String == "urn:gatehouse:problem:invalid-request")
            let fields = Set((problem?["errors"] as? [[String: String]] ?? []).compactMap { $0["field"] })
            #expect(fields == ["site", "from", "outcome"])
            let limit = try await self.get(client, "\(self.base)/records?limit=0", token: token)
            #expect(limit.status == .badRequest && limit.body.contains(#""field":"limit""#))
            #expect(try await self.get(client, "\(self.base)/records?cursor=!!!", token: token).status == .badRequest)
            #expect(try await self.get(client, "\(self.base)/export?format=xml", token: token).status == .badRequest)
            #expect(try await self.get(client, "/v1/tenants/not-a-uuid/audit/records", token: token).status == .notFound)
            #expect(try await self.get(client, "\(self.base)/records/999", token: token).status == .notFound)
        }
    }

    @Test func exportsStreamJSONLinesAndCSV() async throws {
        try await self.withAPI { client in
            let token = try self.token(.tenantAdmin)
            let jsonl = try await self.get(client, "\(self.base)/export", token: token)
            #expect(jsonl.status == .ok && jsonl.type == "application/x-ndjson")
            let lines = jsonl.body.split(separator: "\n")
            #expect(lines.count == 30)
            #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
            let csv = try await self.get(client, "\(self.base)/export?format=csv&site=\(self.siteA)", token: token)
            #expect(csv.status == .ok && csv.type?.hasPrefix("text/csv") == true)
            let rows = csv.body.split(separator: "\r\n")
            #expect(rows.count == 11 && rows.first?.hasPrefix("tenant_id,sequence,") == true)
            let verify = try await self.get(client, "\(self.base)/verify", token: token)
            let report = try JSONSerialization.jsonObject(with: Data(verify.body.utf8)) as? [String: Any]
            #expect(report?["checked"] as? Int == 30 && report?["firstBadSequence"] == nil)
        }
    }

    /// Identity publishes its key set; a service's watcher picks it up over real NATS.
    @Test func theIssuersKeySetReachesServicesOverNATS() async throws {
        let natsURL = try TestEnvironment.natsURL
        let seed = try TestEnvironment.require("GATEHOUSE_AUTH_ISSUER_KEY")
        let issuer = IssuerKeys(signer: try TokenSigner(seed: Array(Data(base64Encoded: seed) ?? Data())))
        // As identity: only identity may write the key set (deploy/nats/nats.conf); any service reads it.
        try await withNATSClient(natsURL, as: .identity) { nats in
            let store = try await nats.jetStream.createKeyValue(AuthKeyDistribution.configuration)
            _ = try await store.put(AuthKeyDistribution.key, Array(try JSONEncoder().encode(issuer.keySet)))
            let keys = AuthKeys()
            let watcher = AuthKeyWatcher(nats: nats, keys: keys, logger: self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await watcher.run() }
                defer { group.cancelAll() }
                let token = try issuer.signer.sign(AccessClaims(subject: "t", tenant: self.tenant, role: .staff))
                #expect(try await eventually(timeout: .seconds(10)) { (try? keys.current.verify(token)) != nil })
            }
        }
    }
}
