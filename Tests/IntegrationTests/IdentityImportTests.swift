import Foundation
import IdentityService
import Logging
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
}
