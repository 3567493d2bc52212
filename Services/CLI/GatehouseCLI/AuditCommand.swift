import ArgumentParser
import AuditService
import Foundation
import GatehouseWire
import ServiceKit

/// `gatehouse audit …`: operator tasks on the audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify the tamper-evident audit log.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute a tenant's hash chain; name the first record that does not verify.",
            discussion: "Exit status: 0 the chain verifies, 1 it does not, 2 other errors."
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The tenant's id (a UUID; 00000000-0000-0000-0000-000000000000 for platform events).") var tenant: String
        @Option(help: "Start at this sequence number (its predecessor's stored hash is trusted).") var from: Int64 = 1
        @Flag(help: "Print the report as JSON.") var json = false

        func validate() throws {
            guard TenantID(self.tenant) != nil else { throw ValidationError("--tenant must be a UUID") }
            guard self.from >= 1 else { throw ValidationError("--from must be at least 1") }
        }

        func run() async throws {
            let tenant = TenantID(self.tenant)!
            let from = self.from
            let start = ContinuousClock.now
            let report = try await self.database.withClient(
                migrations: MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations)
            ) { client, logger in
                try await ChainVerifier(client: client).verify(tenant: tenant, from: from, logger: logger)
            }
            let elapsed = ContinuousClock.now - start
            if self.json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else if let bad = report.firstBadSequence {
                print("FAILED at sequence \(bad): \(report.problem ?? "") (checked \(report.checked), head \(report.headSequence))")
            } else {
                print("verified \(report.checked) records from \(report.from) to head \(report.headSequence) in \(elapsed)")
            }
            if !report.isValid { throw ExitCode(1) }
        }
    }
}
