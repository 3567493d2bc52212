import ArgumentParser
import Configuration
import Foundation
import GatehouseWire
import IdentityService
import Logging
import PostgresNIO
import ServiceKit

/// Direct database access for operator tasks, with the identity service's own store code and the
/// same `GATEHOUSE_POSTGRES_*` keys as the services. (See docs/decisions/0004.)
struct DatabaseOptions: ParsableArguments {
    /// The services' PostgreSQL settings (`GATEHOUSE_POSTGRES_*`), and their TLS mode.
    func configuration() async throws -> (PostgresClient.Configuration, PostgresTLSMode) {
        let config = try await ServiceMain.makeConfigReader().scoped(to: "gatehouse")
        let service = try ServiceConfiguration(service: .identity, config: config)
        var configuration = service.postgres
        if configuration.password == nil, let local = try? String(contentsOfFile: ".gatehouse/postgres.password", encoding: .utf8) {
            configuration.password = local.trimmingCharacters(in: .whitespacesAndNewlines)  // the local `make up` stack
        }
        return (configuration, service.postgresTLS)
    }

    /// Runs `body` with a PostgreSQL pool after applying `migrations` (identity's by default).
    func withClient<T: Sendable>(
        migrations: MigrationRunner = MigrationRunner(schema: IdentityService.schema, migrations: IdentityService.migrations),
        _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T
    ) async throws -> T {
        let (configuration, _) = try await self.configuration()
        var logger = Logger(label: "gatehouse-cli")
        logger.logLevel = .warning
        var poolLogger = logger
        poolLogger.logLevel = .error  // the pool warns when a lease races its start-up; harmless here
        let client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            try await migrations.run(on: client, logger: logger)
            return try await body(client, logger)
        }
    }
}

struct TenantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants",
        abstract: "Manage tenants.",
        subcommands: [Ensure.self]
    )

    struct Ensure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant unless one with this slug exists; print it as JSON.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "URL-safe unique name: lower-case letters, digits, '-'.") var slug: String
        @Option(help: "Display name.") var name: String
        @Option(help: "IANA time zone for sites created without one.") var timeZone = "UTC"

        func validate() throws {
            guard self.slug.range(of: "^[a-z0-9][a-z0-9-]{1,62}$", options: .regularExpression) != nil else {
                throw ValidationError("--slug must be 2–63 lower-case letters, digits or '-'")
            }
            guard TimeZone(identifier: self.timeZone) != nil else { throw ValidationError("--time-zone is not an IANA time zone") }
        }

        func run() async throws {
            let (slug, name, zone) = (self.slug, self.name, self.timeZone)
            let tenant = try await self.database.withClient { client, logger in
                try await TenantStore(client: client).ensure(slug: slug, name: name, defaultTimeZone: zone, logger: logger)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(tenant), as: UTF8.self))
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import units and residents from a CSV file, all or nothing.",
        discussion: """
            Columns (header row required): \(ImportPlan.columns.joined(separator: ",")).
            A row with empty resident columns creates or updates only the unit. Importing the same file
            twice changes nothing. With --dry-run every problem is reported and nothing is written.
            Exit status: 0 imported (or would import), 1 problems in the file, 2 other errors.
            """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The tenant's slug.") var tenant: String
    @Flag(help: "Validate and count what would change; write nothing.") var dryRun = false
    @Argument(help: "The CSV file (UTF-8, RFC 4180).") var file: String

    func run() async throws {
        let start = ContinuousClock.now
        guard let data = FileManager.default.contents(atPath: self.file) else {
            throw ValidationError("cannot read \(self.file)")
        }
        let plan: ImportPlan
        do {
            plan = ImportPlan(records: try CSVReader().parse(Array(data)))
        } catch {
            print("\(self.file): \(error)")
            throw ExitCode(1)
        }
        if !plan.isValid {
            for problem in plan.problems { print("\(self.file): \(problem)") }
            print("\(plan.problems.count) problem(s); nothing was written")
            throw ExitCode(1)
        }
        let progress = ProgressReporter(total: plan.rows.count)
        let (tenant, dryRun) = (self.tenant, self.dryRun)
        let result: ImportResult
        do {
            result = try await self.database.withClient { client, logger in
                try await ImportStore(client: client).apply(plan, tenantSlug: tenant, dryRun: dryRun, logger: logger) { step in
                    progress.report(step)
                }
            }
        } catch let error as ImportError {
            progress.finish()
            for problem in error.problems { print("\(self.file): \(problem)") }
            throw ExitCode(error.code == .invalidFile ? 1 : 2)
        }
        progress.finish()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "\(dryRun ? "dry run: would import" : "imported") \(result.rows) rows in \(String(format: "%.2f", seconds)) s (\(Int(Double(result.rows) / max(seconds, 0.001))) rows/s)"
        )
        for (name, counts) in [
            ("sites", result.sites), ("buildings", result.buildings), ("units", result.units),
            ("people", result.people), ("residences", result.memberships),
        ] {
            print(
                "  \(name.padding(toLength: 11, withPad: " ", startingAt: 0)) \(counts.created) created, \(counts.updated) updated, \(counts.unchanged) unchanged"
            )
        }
    }
}

/// A progress bar with rows/s on a terminal (stderr), plain lines otherwise.
final class ProgressReporter: Sendable {
    let total: Int
    let start = ContinuousClock.now
    let isTerminal = isatty(STDERR_FILENO) != 0

    init(total: Int) { self.total = total }

    func report(_ progress: ImportProgress) {
        let elapsed = ContinuousClock.now - self.start
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 0.001)
        let phases = ["sites", "buildings", "units", "people", "residences"]
        let fraction = Double((phases.firstIndex(of: progress.phase) ?? 0) + 1) / Double(phases.count)
        let rate = Int(Double(self.total) * fraction / seconds)
        if self.isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(Int(fraction * 100))% \(progress.phase) \(progress.done) · \(rate) rows/s ".utf8))
        } else {
            FileHandle.standardError.write(Data("import: \(progress.phase) \(progress.done)/\(progress.total) (\(rate) rows/s)\n".utf8))
        }
    }

    func finish() {
        if self.isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// `gatehouse export --tenant SLUG [--out FILE]`: the tenant's units and residents in the import
/// format; importing the file again changes nothing.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a tenant's units and residents as a provisioning CSV file (the import format)."
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The tenant's slug.") var tenant: String
    @Option(help: "Write here instead of standard output.") var out: String?

    func run() async throws {
        let slug = self.tenant
        let csv = try await self.database.withClient { client, logger in
            var tenant: UUID?
            for try await id in try await client.query("SELECT id FROM identity.tenants WHERE slug = \(slug)", logger: logger).decode(UUID.self) {
                tenant = id
            }
            guard let tenant else { throw ValidationError("no tenant \(slug)") }
            return try await ImportStore(client: client).exportCSV(tenant: TenantID(tenant), logger: logger)
        }
        if let out = self.out {
            try Data(csv).write(to: URL(fileURLWithPath: out))
        } else {
            FileHandle.standardOutput.write(Data(csv))
        }
    }
}
