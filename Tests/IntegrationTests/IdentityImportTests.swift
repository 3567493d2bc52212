import Foundation
import GatehouseAuth
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IdentityService
import Logging
import NIOCore
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

@Suite(.serialized, .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME"), "set POSTGRES_HOSTNAME (make test does)"), .timeLimit(.minutes(2)))
struct IdentityImportTests {
    let logger = Logger(label: "test")
    let schema = "identity_import_test"

    func prepare(_ client: PostgresClient) async throws -> Tenant {
        try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(self.schema) CASCADE"), logger: self.logger)
        try await MigrationRunner(schema: self.schema, migrations: IdentityService.migrations).run(on: client, logger: self.logger)
        return try await TenantStore(client: client, schema: self.schema).ensure(slug: "acme", name: "ACME Homes", logger: self.logger)
    }

    func plan(_ csv: String) throws -> ImportPlan {
        ImportPlan(records: try CSVReader().parse(Array(csv.utf8)))
    }

    func count(_ client: PostgresClient, _ table: String) async throws -> Int {
        var total = 0
        for try await n in try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::INT FROM \(self.schema).\(table)"), logger: self.logger)
            .decode(Int.self)
        {
            total = n
        }
        return total
    }

    static let csv = """
        site,building,unit,floor,resident_name,resident_email,resident_phone,role
        Park View,Tower A,101,1,Ada Lovelace,ada@example.org,+49 30 1234567,owner
        Park View,Tower A,101,1,Charles Babbage,charles@example.org,,occupant
        Park View,Tower A,102,1,,,,
        "Park View, North",Garage,P1,-1,Ada Lovelace,ada@example.org,+49 30 1234567,tenant
        """

    @Test func importIsIdempotent() async throws {
        try await withTestPostgres { client in
            _ = try await self.prepare(client)
            let store = ImportStore(client: client, schema: self.schema)
            let first = try await store.apply(try self.plan(Self.csv), tenantSlug: "acme", dryRun: false, logger: self.logger)
            #expect(first.sites.created == 2 && first.buildings.created == 2 && first.units.created == 3)
            #expect(first.people.created == 2 && first.memberships.created == 3)

            let second = try await store.apply(try self.plan(Self.csv), tenantSlug: "acme", dryRun: false, logger: self.logger)
            #expect(second.changedNothing)
            #expect(second.units.unchanged == 3 && second.memberships.unchanged == 3)
            #expect(try await self.count(client, "units") == 3)
            #expect(try await self.count(client, "people") == 2)

            // A changed floor and role update in place; nothing is duplicated.
            let changed = Self.csv.replacingOccurrences(of: "102,1,,,,", with: "102,2,,,,")
                .replacingOccurrences(of: "charles@example.org,,occupant", with: "charles@example.org,,tenant")
            let third = try await store.apply(try self.plan(changed), tenantSlug: "acme", dryRun: false, logger: self.logger)
            #expect(third.units.updated == 1 && third.memberships.updated == 1 && third.units.created == 0)
        }
    }

    @Test func dryRunReportsExactlyAndWritesNothing() async throws {
        try await withTestPostgres { client in
            _ = try await self.prepare(client)
            let store = ImportStore(client: client, schema: self.schema)
            let dry = try await store.apply(try self.plan(Self.csv), tenantSlug: "acme", dryRun: true, logger: self.logger)
            #expect(dry.dryRun && dry.units.created == 3)
            #expect(try await self.count(client, "units") == 0)
            #expect(try await self.count(client, "sites") == 0)
        }
    }

    @Test func aFileWithOneBadRowWritesNothing() async throws {
        try await withTestPostgres { client in
            _ = try await self.prepare(client)
            let bad = Self.csv + "\nPark View,Tower A,103,1,Eve,eve-at-example,,owner\n"
            let plan = try self.plan(bad)
            #expect(plan.problems.map(\.line) == [6])
            await #expect(throws: ImportError.self) {
                try await ImportStore(client: client, schema: self.schema).apply(plan, tenantSlug: "acme", dryRun: false, logger: self.logger)
            }
            #expect(try await self.count(client, "units") == 0)
        }
    }

    @Test func anUnknownTenantIsRefused() async throws {
        try await withTestPostgres { client in
            _ = try await self.prepare(client)
            let error = await #expect(throws: ImportError.self) {
                try await ImportStore(client: client, schema: self.schema).apply(
                    try self.plan(Self.csv),
                    tenantSlug: "globex",
                    dryRun: false,
                    logger: self.logger
                )
            }
            #expect(error?.code == .unknownTenant)
        }
    }

    @Test func httpImportRunsAsAJobAndTheExportRoundTrips() async throws {
        try await withTestPostgres { client in
            let tenant = try await self.prepare(client)
            let signer = try TokenSigner(seed: Array(repeating: 46, count: 32))
            let keys = AuthKeys(JWKS(keys: [signer.publicJWK]))
            let runner = ImportJobRunner(client: client, schema: self.schema, logger: self.logger)
            let router = Router()
            router.add(middleware: ProblemMiddleware())
            ImportAPI(client: client, schema: self.schema, runner: runner, keys: keys).register(on: router)
            let admin = try signer.sign(AccessClaims(subject: "admin", tenant: tenant.id, role: .tenantAdmin))
            let staff = try signer.sign(AccessClaims(subject: "staff", tenant: tenant.id, role: .staff))
            let base = "/v1/tenants/\(tenant.id)"
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runner.run() }
                defer { group.cancelAll() }
                try await Application(router: router).test(.router) { http in
                    func upload(_ csv: String, query: String = "", token: String = admin) async throws -> (HTTPResponse.Status, [String: Any]) {
                        try await http.execute(
                            uri: "\(base)/imports\(query)",
                            method: .post,
                            headers: [.authorization: "Bearer \(token)", .contentType: "text/csv"],
                            body: ByteBuffer(string: csv)
                        ) { ($0.status, Self.object(String(buffer: $0.body))) }
                    }
                    // Polls the job's status with a deadline.
                    func finished(_ id: String) async throws -> [String: Any] {
                        let deadline = ContinuousClock.now + .seconds(30)
                        while true {
                            let body = try await http.execute(
                                uri: "\(base)/imports/\(id)",
                                method: .get,
                                headers: [.authorization: "Bearer \(admin)"]
                            ) {
                                String(buffer: $0.body)
                            }
                            let job = Self.object(body)
                            if ["succeeded", "failed"].contains(job["status"] as? String) { return job }
                            guard ContinuousClock.now < deadline else {
                                Issue.record("job \(id) did not finish: \(body)")
                                return job
                            }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }

                    #expect(try await upload(Self.csv, token: staff).0 == .forbidden)
                    let (status, queued) = try await upload(Self.csv)
                    // Accepted at once; the runner may already have picked the job up when the answer is written.
                    #expect(status == .accepted && ["queued", "running", "succeeded"].contains(queued["status"] as? String))
                    let job = try await finished(try #require(queued["id"] as? String))
                    #expect(job["status"] as? String == "succeeded", "\(job)")
                    let result = try #require(job["result"] as? [String: Any])
                    #expect((result["units"] as? [String: Any])?["created"] as? Int == 3)
                    #expect(job["total"] as? Int ?? 0 > 0)

                    // A bad file: every problem by line, nothing written.
                    let bad = Self.csv + "\nPark View,Tower A,103,1,Eve,not-an-address,,owner\n"
                    let failed = try await finished(try #require(try await upload(bad).1["id"] as? String))
                    #expect(failed["status"] as? String == "failed")
                    let problems = try #require(failed["problems"] as? [[String: Any]])
                    #expect(problems.count == 1 && problems[0]["line"] as? Int == 6, "\(problems)")
                    #expect(try await self.count(client, "units") == 3)

                    // A dry run reports what would change and changes nothing.
                    let changed = Self.csv.replacingOccurrences(of: "102,1,,,,", with: "102,2,,,,")
                    let dry = try await finished(try #require(try await upload(changed, query: "?dryRun=true").1["id"] as? String))
                    let dryResult = try #require(dry["result"] as? [String: Any])
                    #expect(dryResult["dryRun"] as? Bool == true && (dryResult["units"] as? [String: Any])?["updated"] as? Int == 1)
                    #expect(try await self.count(client, "units") == 3)

                    // The export is an import file that changes nothing, with the same rows.
                    let exported = try await http.execute(uri: "\(base)/export.csv", method: .get, headers: [.authorization: "Bearer \(admin)"]) {
                        String(buffer: $0.body)
                    }
                    let again = try await ImportStore(client: client, schema: self.schema).apply(
                        try self.plan(exported),
                        tenantSlug: "acme",
                        dryRun: false,
                        logger: self.logger
                    )
                    #expect(again.changedNothing, "\(exported)")
                    func rows(_ csv: String) throws -> Set<[String]> { Set(try CSVReader().parse(Array(csv.utf8)).dropFirst().map(\.fields)) }
                    #expect(try rows(exported) == rows(Self.csv), "\(exported)")
                }
            }
        }
    }

    static func object(_ json: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }
}
