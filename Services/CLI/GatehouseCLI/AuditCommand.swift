import ArgumentParser
import AuditService
import Configuration
import Foundation
import GatehouseWire
import Logging
import PostgresNIO
import ServiceKit

/// `gatehouse audit …`: operator tasks on the audit log.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, export and configure the tamper-evident audit log.",
        subcommands: [Verify.self, Export.self, Retention.self]
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
            let (configuration, tls) = try await self.database.configuration()
            let source = PostgresCopySource(configuration: configuration, tls: tls)
            let report = try await self.database.withClient(
                migrations: MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations)
            ) { client, logger in
                try await ChainVerifier(client: client, source: source).verify(tenant: tenant, from: from, logger: logger)
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

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a tenant's audit records as JSON Lines (default) or CSV, in chain order.",
            discussion: """
                Streams with constant memory; progress goes to stderr. Sealed events are exported with their \
                body when GATEHOUSE_AUDIT_DATA_KEY (or, locally, .gatehouse/secrets/audit.datakey) holds the \
                audit service's key, and without it otherwise.
                """
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The tenant's id (a UUID).") var tenant: String
        @Option(help: "Only this site (UUID).") var site: String?
        @Option(help: "Only this building (UUID).") var building: String?
        @Option(help: "Only this door (UUID).") var door: String?
        @Option(help: "Only this unit (UUID).") var unit: String?
        @Option(help: "Only this person (UUID).") var person: String?
        @Option(help: "Only this call (UUID).") var call: String?
        @Option(help: "Only this pass (UUID).") var pass: String?
        @Option(help: "Only this CloudEvents type.") var type: String?
        @Option(help: "Only this outcome.") var outcome: String?
        @Option(help: "Occurred at or after (ISO 8601).") var from: String?
        @Option(help: "Occurred before (ISO 8601).") var to: String?
        @Option(help: "jsonl or csv.") var format = "jsonl"
        @Option(help: "Write here instead of stdout.") var out: String?

        func filter() throws -> AuditFilter {
            guard let tenant = TenantID(self.tenant) else { throw ValidationError("--tenant must be a UUID") }
            func id(_ value: String?, _ name: String) throws -> UUID? {
                guard let value else { return nil }
                guard let id = UUID(uuidString: value) else { throw ValidationError("--\(name) must be a UUID") }
                return id
            }
            func time(_ value: String?, _ name: String) throws -> Date? {
                guard let value else { return nil }
                guard let date = WireCoding.parse(value) else { throw ValidationError("--\(name) must be an ISO 8601 time") }
                return date
            }
            return AuditFilter(
                tenant: tenant,
                site: try id(self.site, "site"),
                building: try id(self.building, "building"),
                door: try id(self.door, "door"),
                unit: try id(self.unit, "unit"),
                person: try id(self.person, "person"),
                call: try id(self.call, "call"),
                pass: try id(self.pass, "pass"),
                eventType: self.type,
                outcome: self.outcome,
                from: try time(self.from, "from"),
                to: try time(self.to, "to")
            )
        }

        func validate() throws {
            _ = try self.filter()
            guard self.format == "jsonl" || self.format == "csv" else { throw ValidationError("--format must be jsonl or csv") }
        }

        func run() async throws {
            let filter = try self.filter()
            let csv = self.format == "csv"
            let keyring = try await Self.keyring()
            guard let output = self.out.map({ FileHandle(forWritingAtPath: $0) ?? Self.create($0) }) ?? FileHandle.standardOutput else {
                throw ValidationError("cannot write \(self.out ?? "")")
            }
            let interactive = isatty(STDERR_FILENO) == 1
            let count = try await self.database.withClient(
                migrations: MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations)
            ) { client, logger in
                let reader = AuditReader(client: client, keyring: keyring)
                let clock = ContinuousClock()
                let start = clock.now
                var lastReport = start
                var count = 0
                var after: Int64 = 0
                if csv { output.write(Data((AuditEntry.csvHeader + "\r\n").utf8)) }
                func progress(final: Bool) {
                    let seconds = max(
                        Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds),
                        0.001
                    )
                    let line = "exported \(count) records (\(Int(Double(count) / seconds))/s)"
                    FileHandle.standardError.write(Data((interactive ? "\r" + line + (final ? "\n" : "") : line + "\n").utf8))
                }
                while true {
                    let page = try await reader.exportPage(filter, after: after, logger: logger)
                    var chunk = Data()
                    for entry in page {
                        if csv {
                            chunk.append(Data((entry.csv(tenant: filter.tenant) + "\r\n").utf8))
                        } else {
                            chunk.append(contentsOf: entry.json(tenant: filter.tenant))
                            chunk.append(UInt8(ascii: "\n"))
                        }
                    }
                    output.write(chunk)
                    count += page.count
                    if clock.now - lastReport >= (interactive ? .milliseconds(200) : .seconds(5)) {
                        progress(final: false)
                        lastReport = clock.now
                    }
                    guard page.count == AuditReader.exportPageSize, let last = page.last else { break }
                    after = last.sequence
                }
                progress(final: true)
                return count
            }
            _ = count
            if self.out != nil { try output.close() }
        }

        static func create(_ path: String) -> FileHandle? {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }

        /// The audit service's keyring, when this machine has its key.
        static func keyring() async throws -> PersonKeyring? {
            try await LocalSecrets.key(configKey: "audit.dataKey", name: "audit.datakey").map { PersonKeyring(keyEncryptionKey: $0) }
        }
    }

    struct Retention: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set how many days a tenant's audit records are kept (the service default applies otherwise)."
        )

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The tenant's id (a UUID).") var tenant: String
        @Option(help: "Days to keep, 1…3650.") var days: Int?
        @Flag(help: "Remove the tenant's own setting.") var reset = false

        func validate() throws {
            guard TenantID(self.tenant) != nil else { throw ValidationError("--tenant must be a UUID") }
            guard (self.days == nil) != !self.reset else { throw ValidationError("give --days or --reset") }
            if let days, !(1...3650).contains(days) { throw ValidationError("--days must be 1…3650") }
        }

        func run() async throws {
            let tenant = TenantID(self.tenant)!
            let days = self.days
            _ = try await self.database.withClient(
                migrations: MigrationRunner(schema: AuditService.schema, migrations: AuditService.migrations)
            ) { client, logger in
                if let days {
                    try await client.query(
                        """
                        INSERT INTO audit.retention (tenant_id, days) VALUES (\(tenant.rawValue), \(days))
                        ON CONFLICT (tenant_id) DO UPDATE SET days = excluded.days, updated_at = now()
                        """,
                        logger: logger
                    )
                } else {
                    try await client.query("DELETE FROM audit.retention WHERE tenant_id = \(tenant.rawValue)", logger: logger)
                }
            }
            print(days.map { "tenant \(tenant) keeps audit records for \($0) days" } ?? "tenant \(tenant) uses the default retention")
        }
    }
}
