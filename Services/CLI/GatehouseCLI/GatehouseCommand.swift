public import ArgumentParser
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import ServiceKit

/// `gatehouse`: admin and development tasks.
public struct GatehouseCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "Gatehouse admin and development tool.",
        subcommands: [
            PingCommand.self, DialCommand.self, EventsCommand.self, TenantsCommand.self, ImportCommand.self, ExportCommand.self, PeopleCommand.self,
            AuditCommand.self,
            TokenCommand.self,
            DemoCommand.self,
            DoorCommand.self,
            WireCommand.self,
        ]
    )

    public init() {}
}

/// Options to reach NATS, shared by subcommands.
struct NATSOptions: ParsableArguments {
    @Option(name: .customLong("nats"), help: "NATS server URL(s), comma-separated (env GATEHOUSE_NATS_SERVERS).")
    var servers: String = ProcessInfo.processInfo.environment["GATEHOUSE_NATS_SERVERS"] ?? "nats://127.0.0.1:4222"

    @Option(help: "NATS user (env GATEHOUSE_NATS_USER).")
    var user: String?

    var configuration: NATSConfiguration {
        NATSConfiguration(
            servers: self.servers.split(separator: ",").map(String.init),
            name: "gatehouse-cli",
            user: self.user ?? ProcessInfo.processInfo.environment["GATEHOUSE_NATS_USER"],
            password: ProcessInfo.processInfo.environment["GATEHOUSE_NATS_PASSWORD"],
            maxConnectBackoff: .seconds(1)
        )
    }

    /// Runs `body` with a connected client, then drains it.
    func withClient<T: Sendable>(_ body: @escaping @Sendable (NATSClient) async throws -> T) async throws -> T {
        var logger = Logger(label: "gatehouse-cli")
        logger.logLevel = .warning
        let client = NATSClient(configuration: self.configuration, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await client.run()
                return nil
            }
            defer { group.cancelAll() }
            let result = try await body(client)
            return result
        }
    }
}

struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Ping services over NATS (all six unless --service is given); exit 1 if any is silent."
    )

    @OptionGroup var nats: NATSOptions

    @Option(help: "One service to ping.")
    var service: String?

    @Option(help: "Seconds to wait for each reply.")
    var timeout: Double = 2

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func run() async throws {
        let services = self.service.map { [ServiceName($0)] } ?? ServiceName.all
        let timeout = Duration.milliseconds(Int64(self.timeout * 1000))
        let json = self.json
        let failures = try await self.nats.withClient { client in
            let bus = MessageBus(
                transport: NATSTransport(client: client),
                source: EventSource(service: "gatehouse-cli", instance: "cli")
            )
            var failures = 0
            for service in services {
                let start = ContinuousClock.now
                do {
                    let reply = try await bus.request(Ping(service: service), timeout: timeout)
                    let elapsed = ContinuousClock.now - start
                    if json {
                        print(String(decoding: try WireCoding.encode(reply), as: UTF8.self))
                    } else {
                        print(
                            "\(service.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) ok  \(reply.instance)  v\(reply.version)  up since \(WireCoding.format(reply.startedAt))  \(elapsed)"
                        )
                    }
                } catch {
                    failures += 1
                    print("\(service.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) FAILED  \(error)")
                }
            }
            return failures
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct WireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Wire-contract tools.",
        subcommands: [Samples.self]
    )

    struct Samples: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write one encoded sample of every wire payload to a folder.")

        @Option(help: "Output folder.")
        var out: String

        func run() async throws {
            for sample in try WireSamples.all() {
                let url = URL(fileURLWithPath: self.out).appendingPathComponent(sample.name + ".json")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try sample.json.write(to: url)
            }
        }
    }
}

struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Watch events, or publish probe events.",
        subcommands: [Watch.self, Probe.self],
        defaultSubcommand: Watch.self
    )
}

extension EventsCommand {
    struct Probe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish probe events for a tenant to JetStream (each acknowledged); print the rate."
        )

        @OptionGroup var nats: NATSOptions
        @Option(help: "The tenant (a UUID).") var tenant: String
        @Option(help: "How many probe events.") var count = 1
        @Option(help: "Events in flight at once.") var concurrency = 32
        @Option(help: "Run name (default: a new UUID).") var run: String?

        func validate() throws {
            guard TenantID(self.tenant) != nil else { throw ValidationError("--tenant must be a UUID") }
            guard (1...10_000_000).contains(self.count) else { throw ValidationError("--count must be 1…10000000") }
            guard (1...1024).contains(self.concurrency) else { throw ValidationError("--concurrency must be 1…1024") }
        }

        func run() async throws {
            let (tenant, count, concurrency) = (TenantID(self.tenant)!, self.count, self.concurrency)
            let run = self.run ?? UUID().lowercasedString
            let start = ContinuousClock.now
            try await self.nats.withClient { client in
                let bus = MessageBus(
                    transport: NATSTransport(client: client),
                    source: EventSource(service: "gatehouse-cli", instance: "probe"),
                    defaultTimeout: .seconds(10)
                )
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for number in 1...count {
                        if number > concurrency { try await group.next() }
                        group.addTask {
                            // Retried until acknowledged: the stream de-duplicates on the event id.
                            let event = CloudEvent(
                                source: bus.source,
                                subject: "probe/\(run)",
                                tenant: tenant,
                                data: EventProbe(run: run, number: number)
                            )
                            var attempt = 0
                            while true {
                                do {
                                    try await bus.publish(event)
                                    return
                                } catch {
                                    attempt += 1
                                    if attempt >= 20 { throw error }
                                    try await Task.sleep(for: .milliseconds(100 * attempt))
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let seconds =
                Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
            print("published \(count) probe events (run \(run)) in \(String(format: "%.2f", seconds)) s")
        }
    }
}

extension EventsCommand {
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Print events as they are published (core NATS), one JSON line each."
        )

        @OptionGroup var nats: NATSOptions

        @Option(help: "Only this tenant's events (a UUID); default: every tenant.")
        var tenant: String?

        @Option(help: "Stop after this many events.")
        var count: Int = .max

        func validate() throws {
            if let tenant, TenantID(tenant) == nil { throw ValidationError("--tenant must be a UUID") }
            guard self.count > 0 else { throw ValidationError("--count must be positive") }
        }

        func run() async throws {
            let subject = self.tenant.flatMap(TenantID.init).map(Subjects.events(of:)) ?? Subjects.allEvents
            let count = self.count
            try await self.nats.withClient { client in
                var seen = 0
                for await message in try await client.subscribe(to: subject) {
                    print(String(decoding: message.payload, as: UTF8.self))
                    seen += 1
                    if seen >= count { break }
                }
            }
        }
    }
}
