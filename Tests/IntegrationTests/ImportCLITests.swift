import Foundation
import GatehouseNATS
import GatehouseWire
import IdentityService
import Logging
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

/// `gatehouse tenants ensure` and `gatehouse import` as an operator runs them.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("GATEHOUSE_BIN_DIR", "POSTGRES_HOSTNAME"), "run through make test"),
    .timeLimit(.minutes(2))
)
struct ImportCLITests {
    func gatehouse(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runGatehouse(arguments)
    }

    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("import-\(UUID()).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func importReportsProblemsByLineThenImportsOnceAndOnlyOnce() async throws {
        let slug = "cli-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await self.gatehouse(["tenants", "ensure", "--slug", slug, "--name", "CLI test", "--time-zone", "Europe/Berlin"])
        #expect(created.status == 0)
        #expect(created.output.contains(#""slug":"\#(slug)""#))

        let header = "site,building,unit,floor,resident_name,resident_email,resident_phone,role\n"
        let bad = try self.write(header + "Elm Court,Main,101,1,Ada,ada@example.org,,owner\nElm Court,Main,1 02,1,Bob,bob@,,owner\n")
        let rejected = try await self.gatehouse(["import", "--tenant", slug, bad])
        #expect(rejected.status == 1)
        #expect(rejected.output.contains("line 3 (unit)"))
        #expect(rejected.output.contains("line 3 (resident_email)"))

        let good = try self.write(header + "Elm Court,Main,101,1,Ada,ada@example.org,,owner\nElm Court,Main,102,1,,,,\n")
        let dry = try await self.gatehouse(["import", "--tenant", slug, "--dry-run", good])
        #expect(dry.status == 0)
        #expect(dry.output.contains("dry run: would import 2 rows"))
        let first = try await self.gatehouse(["import", "--tenant", slug, good])
        #expect(first.status == 0)
        #expect(first.output.contains("units       2 created"))
        let second = try await self.gatehouse(["import", "--tenant", slug, good])
        #expect(second.output.contains("units       0 created, 0 updated, 2 unchanged"))

        let unknown = try await self.gatehouse(["import", "--tenant", "no-such-tenant", good])
        #expect(unknown.status == 2)
    }

    @Test func demoSeedIsIdempotentAndWritesItsSummary() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID()).json").path
        let first = try await self.gatehouse(["demo", "seed", "--out", out])
        #expect(first.status == 0)
        let again = try await self.gatehouse(["demo", "seed", "--out", out])
        #expect(again.status == 0)
        let summary = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
        )
        let site = try #require(summary["site"] as? [String: Any])
        #expect(site["sipDomain"] as? String == "demo.gatehouse.test")
        #expect(site["timeZone"] as? String == "Europe/Berlin")
        #expect((summary["units"] as? [String])?.count == 10)
        #expect(summary["created"] as? Int == 0)  // the second run created nothing
    }
}

/// Runs the `gatehouse` CLI against the test database; returns its exit status and standard output.
///
/// Asynchronous on purpose: waiting for the process on one of the (on 2 cores, two) cooperative
/// threads stalled every other test in the process, and with them the transactions the CLI waited
/// for.
func runGatehouse(
    _ arguments: [String],
    natsUser: TestEnvironment.NATSUser? = nil,
    environment extra: [String: String] = [:]
) async throws -> (status: Int32, output: String) {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-cli-\(UUID()).out")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let handle = try FileHandle(forWritingTo: out)
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try TestEnvironment.require("GATEHOUSE_BIN_DIR")).appendingPathComponent("gatehouse")
    process.arguments = arguments
    process.environment = try TestEnvironment.serviceEnvironment(natsUser: natsUser).merging(extra) { $1 }
    process.standardOutput = handle
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
            try process.run()
        } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    return (status, String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self))
}

extension ImportCLITests {
    /// `make up`'s seed with the door simulator: the demo's two doors get access controllers whose
    /// secret (the simulator's password) is stored sealed.
    @Test func demoSeedConfiguresTheDoorControllersForTheSimulator() async throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID()).json").path
        let seeded = try await runGatehouse(
            ["demo", "seed", "--out", out, "--door-sim-url", "http://127.0.0.1:8090"],
            environment: ["GATEHOUSE_DOORSIM_PASSWORD": "sim-pass-123"]
        )
        #expect(seeded.status == 0)
        try await withTestPostgres { postgres in
            let rows = try await postgres.query(
                """
                SELECT count(*) FROM access.door_controllers c
                JOIN identity.doors d ON d.tenant_id = c.tenant_id AND d.id = c.door_id
                JOIN identity.tenants t ON t.id = d.tenant_id AND t.slug = 'demo'
                WHERE c.username = 'admin' AND c.secret_sealed IS NOT NULL AND position('sim-pass-123'::bytea IN c.secret_sealed) = 0
                """,
                logger: Logger(label: "test")
            ).collect()
            #expect(try rows.first?.decode(Int.self) == 2)
        }
    }

    /// `make up`'s seed: idempotent, and its admin login works.
    @Test func demoSeedIsIdempotentAndItsAdminCanLogIn() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("demo-\(UUID())")
        let out = directory.appendingPathComponent("demo.json").path
        let first = try await self.gatehouse(["demo", "seed", "--out", out])
        #expect(first.status == 0)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        let again = try await self.gatehouse(["demo", "seed", "--out", out])
        #expect(again.status == 0)
        let repeated = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        #expect((summary["tenant"] as? [String: Any])?["id"] as? String == (repeated["tenant"] as? [String: Any])?["id"] as? String)
        let admin = try #require(repeated["admin"] as? [String: String])
        #expect(admin["email"] == "admin@demo.gatehouse.test" && (admin["password"]?.count ?? 0) >= 12)
        #expect(repeated["auditRetentionDays"] as? Int == 60)
        try await withTestPostgres { client in
            var hash: String?
            for try await value in try await client.query(
                "SELECT password_hash FROM identity.people WHERE email = 'admin@demo.gatehouse.test' AND staff_role = 'tenant-admin'",
                logger: Logger(label: "test")
            ).decode(String?.self) {
                hash = value
            }
            let stored = try #require(hash)
            #expect(await PasswordHasher().verify(admin["password"] ?? "", encoded: stored))
        }
    }
}

extension ImportCLITests {
    @Test func peopleExportAndEraseFromTheCLI() async throws {
        let natsURL = try TestEnvironment.natsURL
        _ = try await withNATSClient(natsURL) { nats in try await nats.jetStream.ensureStream(EventStream.configuration()) }
        let slug = "cli-people-\(UUID().uuidString.prefix(6).lowercased())"
        let person = try await withTestPostgres { client in
            let tenant = try await TenantStore(client: client).ensure(slug: slug, name: "CLI people", logger: Logger(label: "test"))
            return try await PeopleStore(client: client).create(
                tenant: tenant.id,
                PersonInput(kind: .resident, displayName: "Erin Export", email: "erin@example.org"),
                logger: Logger(label: "test")
            )
        }
        let export = try await self.gatehouse(["people", "export", "--tenant", slug, "--person", person.id.lowercasedString])
        #expect(export.status == 0 && export.output.contains("erin@example.org") && export.output.contains("gatehouse.person-export.v1"))
        // As identity: the erasure event is identity's to publish (deploy/nats/nats.conf).
        let erase = try await runGatehouse(
            ["people", "erase", "--tenant", slug, "--person", person.id.lowercasedString, "--nats", natsURL],
            natsUser: .identity
        )
        #expect(erase.status == 0)
        let after = try await self.gatehouse(["people", "export", "--tenant", slug, "--person", person.id.lowercasedString])
        #expect(after.status == 0 && !after.output.contains("erin@example.org") && after.output.contains(#""erased" : true"#))
        #expect(try await self.gatehouse(["people", "export", "--tenant", slug, "--person", UUID().uuidString]).status != 0)
    }
}
