import Logging
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

@Suite(.serialized, .enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME"), "set POSTGRES_HOSTNAME (make test does)"), .timeLimit(.minutes(1)))
struct MigrationTests {
    let logger = Logger(label: "test")

    func runner(_ schema: String) -> MigrationRunner {
        MigrationRunner(
            schema: schema,
            migrations: [
                SQLMigration("0001_create", ["CREATE TABLE {schema}.doors (id SERIAL PRIMARY KEY, name TEXT NOT NULL)"]),
                SQLMigration("0002_column", ["ALTER TABLE {schema}.doors ADD COLUMN floor INT"]),
            ]
        )
    }

    func reset(_ schema: String, _ client: PostgresClient) async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: self.logger)
    }

    @Test func migrationsAreIdempotent() async throws {
        try await withTestPostgres { client in
            try await self.reset("mig_idem", client)
            #expect(try await self.runner("mig_idem").run(on: client, logger: self.logger) == ["0001_create", "0002_column"])
            #expect(try await self.runner("mig_idem").run(on: client, logger: self.logger).isEmpty)
            let rows = try await client.query("SELECT count(*)::INT FROM mig_idem.schema_migrations", logger: self.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 2) }
        }
    }

    @Test func twoReplicasStartingTogetherApplyEachMigrationOnce() async throws {
        try await withTestPostgres { client in
            try await self.reset("mig_race", client)
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        // separate pools, like separate processes
                        try await withTestPostgres { own in try await self.runner("mig_race").run(on: own, logger: self.logger) }
                    }
                }
                return try await group.reduce(into: [[String]]()) { $0.append($1) }
            }
            #expect(results.flatMap { $0 }.sorted() == ["0001_create", "0002_column"])
        }
    }

    @Test func aFailingMigrationRollsBackTheRun() async throws {
        try await withTestPostgres { client in
            try await self.reset("mig_fail", client)
            let broken = MigrationRunner(
                schema: "mig_fail",
                migrations: [
                    SQLMigration("0001_ok", ["CREATE TABLE {schema}.a (id INT)"]),
                    SQLMigration("0002_broken", ["ALTER TABLE {schema}.missing ADD COLUMN x INT"]),
                ]
            )
            await #expect(throws: GatehouseError.migrationFailed("")) { try await broken.run(on: client, logger: self.logger) }
            let rows = try await client.query("SELECT to_regclass('mig_fail.a') IS NULL", logger: self.logger)
            for try await absent in rows.decode(Bool.self) { #expect(absent) }
        }
    }
}
