import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import IdentityService
import Logging
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Starts the six real executables against the test NATS and PostgreSQL and talks to them.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.enabled("GATEHOUSE_BIN_DIR", "NATS_URL", "POSTGRES_HOSTNAME"), "run through make test"),
    .timeLimit(.minutes(3))
)
struct StackTests {
    static let executables = ["identity", "access", "signaling", "media-relay", "inference", "audit"]

    final class Stack: @unchecked Sendable {
        var processes: [String: Process] = [:]
        let portBase = Int.random(in: 10_000..<19_000)  // below the kernel's ephemeral ports (32768+)

        func port(_ name: String) -> Int { self.portBase + StackTests.executables.firstIndex(of: name)! }

        func start() throws {
            let bin = try TestEnvironment.require("GATEHOUSE_BIN_DIR")
            for name in StackTests.executables {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: bin).appendingPathComponent(name)
                var environment = try TestEnvironment.serviceEnvironment(natsUser: TestEnvironment.NATSUser(rawValue: name))
                environment["GATEHOUSE_HTTP_PORT"] = "\(self.port(name))"
                environment["GATEHOUSE_NATS_SERVERS"] = try TestEnvironment.natsURL
                environment["GATEHOUSE_INSTANCE"] = "\(name)-stacktest"
                environment["GATEHOUSE_LOG_FORMAT"] = "json"
                // Signaling's SIP listeners on free ports, clear of a running `make up`.
                environment["GATEHOUSE_SIP_UDP_PORT"] = "0"
                environment["GATEHOUSE_SIP_TCP_PORT"] = "0"
                environment["GATEHOUSE_SIP_WS_PORT"] = "0"
                process.environment = environment
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                self.processes[name] = process
            }
        }

        /// Stops every service, suspending (not blocking a cooperative thread) while they shut down.
        func stop() async {
            for process in self.processes.values where process.isRunning { process.terminate() }
            let deadline = ContinuousClock.now + .seconds(40)
            while self.processes.values.contains(where: \.isRunning), ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }

        func stopAll() {
            for process in self.processes.values where process.isRunning { process.terminate() }
            for process in self.processes.values { process.waitUntilExit() }
        }

        deinit { self.stopAll() }
    }

    static func ready(port: Int) async -> Bool {
        guard let url = URL(string: "http://127.0.0.1:\(port)/health/ready") else { return false }
        return await withCheckedContinuation { continuation in
            URLSession.shared.dataTask(with: url) { _, response, _ in
                continuation.resume(returning: (response as? HTTPURLResponse)?.statusCode == 200)
            }.resume()
        }
    }

    static func fetch(port: Int, path: String, token: String? = nil) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// A key a service needs for its own components (access's `access.secretKey`) missing: exit
    /// code 78 and a message naming it, not a crash.
    @Test func aServiceWithoutItsKeyStopsWithExitCode78() async throws {
        var environment = try TestEnvironment.serviceEnvironment(natsUser: .access)
        environment["GATEHOUSE_ACCESS_SECRET_KEY"] = "too-short"
        environment["GATEHOUSE_HTTP_PORT"] = "\(Int.random(in: 20_000..<21_000))"
        environment["GATEHOUSE_NATS_SERVERS"] = try TestEnvironment.natsURL
        environment["GATEHOUSE_INSTANCE"] = "access-badkey"
        let run = try await runTool(
            try TestEnvironment.require("GATEHOUSE_BIN_DIR") + "/access",
            [],
            environment: environment,
            timeout: .seconds(60)
        )
        #expect(run.status == 78, "\(run.output)")
        #expect(run.output.contains("access.secretKey must be 32 bytes in base64"), "\(run.output)")
        #expect(!run.output.contains("Fatal error"))
    }

    @Test func allSixServicesBootAndAnswerPingOverNATS() async throws {
        let stack = Stack()
        try stack.start()
        defer { stack.stopAll() }
        for name in Self.executables {
            let port = stack.port(name)
            #expect(try await eventually(timeout: .seconds(60)) { await Self.ready(port: port) }, "\(name) never became ready")
        }
        try await withNATSClient(try TestEnvironment.natsURL) { client in
            let bus = MessageBus(transport: NATSTransport(client: client), source: EventSource(service: "test", instance: "t"))
            for service in ServiceName.all {
                let reply = try await bus.request(Ping(service: service), timeout: .seconds(5))
                #expect(reply.service == service)
                #expect(reply.instance == "\(service)-stacktest")
            }
            let stream = try await client.jetStream.streamInfo(EventStream.defaultName)
            #expect(stream.config.duplicateWindow == .seconds(120))
            #expect(stream.config.subjects == [Subjects.allEvents])
            #expect(stream.state.messages >= 6)  // six service_started events at least
        }

        // Identity publishes its key set; audit trusts tokens signed with the issuer key, across processes.
        let jwks = try await Self.fetch(port: stack.port("identity"), path: "/.well-known/jwks.json")
        #expect(jwks.status == 200 && jwks.body.contains(#""crv":"Ed25519""#))
        let seed = try #require(Data(base64Encoded: try TestEnvironment.require("GATEHOUSE_AUTH_ISSUER_KEY")))
        let tenant = TenantID(UUID())
        let token = try TokenSigner(seed: Array(seed)).sign(AccessClaims(subject: "stack", tenant: tenant, role: .tenantAdmin))
        let auditPort = stack.port("audit")
        #expect(
            try await eventually(timeout: .seconds(20)) {
                (try? await Self.fetch(port: auditPort, path: "/v1/tenants/\(tenant)/audit/records", token: token).status) == 200
            },
            "audit never accepted the issuer's token"
        )
        #expect(try await Self.fetch(port: auditPort, path: "/v1/tenants/\(tenant)/audit/records").status == 401)

        // The running identity answers signaling's dial-plan request for a unit made in its database;
        // `gatehouse dial` shows it.
        let domain = "stack-\(UUID().uuidString.prefix(8).lowercased()).example.org"
        let phone: String = try await withTestPostgres { postgres in
            let tenant = try await TenantStore(client: postgres).ensure(
                slug: "stack-\(domain.prefix(14).suffix(8))",
                name: "Stack",
                logger: Logger(label: "test")
            ).id
            let topology = TopologyStore(client: postgres)
            let logger = Logger(label: "test")
            let site = UUID(
                uuidString: try await topology.createSite(tenant: tenant, name: "S", timeZone: "UTC", sipDomain: domain, logger: logger).id
            )!
            let building = UUID(uuidString: try await topology.createBuilding(tenant: tenant, site: site, name: "B", logger: logger).id)!
            let unit = UUID(
                uuidString: try await topology.createUnit(
                    tenant: tenant,
                    site: site,
                    building: building,
                    dialNumber: "101",
                    floor: nil,
                    ringSeconds: 25,
                    logger: logger
                ).id
            )!
            let (device, _) = try await DeviceStore(client: postgres).create(
                tenant: tenant,
                DeviceInput(siteId: site, kind: .sipPhone, name: "Phone", unitId: unit),
                logger: logger
            )
            return device.sipUsername
        }
        let dial = try await runGatehouse(["dial", domain, "101", "--nats", try TestEnvironment.natsURL])
        #expect(dial.status == 0 && dial.output.contains("1. unit, 25 s: sip:\(phone)@\(domain)"), "\(dial.output)")
        #expect(try await runGatehouse(["dial", domain, "999", "--nats", try TestEnvironment.natsURL]).status != 0)

        // SIGTERM: each service shuts down gracefully and exits 0.
        await stack.stop()
        for (name, process) in stack.processes {
            #expect(!process.isRunning && process.terminationStatus == 0, "\(name) did not stop cleanly")
        }
    }
}
