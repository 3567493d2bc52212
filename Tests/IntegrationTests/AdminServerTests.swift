import Configuration
import Foundation
import GatehouseWire
import Logging
import Prometheus
import ServiceKit
import ServiceKitTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One in-process service whose NATS is unreachable: alive, not ready, problem+json errors.
@Suite(.enabled(if: TestEnvironment.enabled("POSTGRES_HOSTNAME"), "set POSTGRES_HOSTNAME (make test does)"), .timeLimit(.minutes(1)))
struct AdminServerTests {
    static func get(_ url: String) async throws -> (status: Int, contentType: String?, body: String) {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: URL(string: url)!) { data, response, error in
                if let error { return continuation.resume(throwing: error) }
                let http = response as! HTTPURLResponse
                continuation.resume(
                    returning: (
                        http.statusCode, http.value(forHTTPHeaderField: "Content-Type"),
                        String(decoding: data ?? Data(), as: UTF8.self)
                    )
                )
            }.resume()
        }
    }

    @Test func aliveButNotReadyWithoutNATSAndErrorsAreProblems() async throws {
        let port = Int.random(in: 19_000..<20_000)  // below the kernel's ephemeral ports (32768+)
        let config = ConfigReader(
            provider: InMemoryProvider(values: [
                "http.port": .init(.int(port), isSecret: false),
                "nats.servers": .init(.string("nats://127.0.0.1:9"), isSecret: false),  // nothing listens there
                "postgres.host": .init(.string(try TestEnvironment.require("POSTGRES_HOSTNAME")), isSecret: false),
                "postgres.port": .init(.int(Int(TestEnvironment.value("POSTGRES_PORT") ?? "5432")!), isSecret: false),
                "postgres.user": .init(.string(TestEnvironment.value("POSTGRES_USER") ?? "gatehouse"), isSecret: false),
                "postgres.password": .init(.string(TestEnvironment.value("POSTGRES_PASSWORD") ?? ""), isSecret: true),
                "postgres.database": .init(.string(TestEnvironment.value("POSTGRES_DB") ?? "gatehouse"), isSecret: false),
            ])
        )
        let definition = ServiceDefinition(name: "admin-test", schema: "admin_test", migrations: []) { _ in ServiceComponents() }
        let app = ServiceApp(
            definition: definition,
            configuration: try ServiceConfiguration(service: "admin-test", config: config),
            config: config,
            logger: Logger(label: "test"),
            registry: PrometheusCollectorRegistry()
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            let base = "http://127.0.0.1:\(port)"
            #expect(try await eventually { try await Self.get("\(base)/health/live").status == 200 })

            let ready = try await Self.get("\(base)/health/ready")
            #expect(ready.status == 503)
            #expect(ready.body.contains(#""nats":"failing""#))
            #expect(ready.body.contains(#""postgres":"ok""#))

            let missing = try await Self.get("\(base)/no/such/route")
            #expect(missing.status == 404)
            #expect(missing.contentType == "application/problem+json")
            #expect(missing.body.contains("urn:gatehouse:problem:not-found"))

            let metrics = try await Self.get("\(base)/metrics")
            #expect(metrics.status == 200)
        }
    }
}
