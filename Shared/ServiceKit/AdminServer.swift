import Foundation
public import Hummingbird
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// A readiness check: a name and a probe that answers within the server's deadline.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var probe: @Sendable () async -> Bool

    public init(name: String, probe: @escaping @Sendable () async -> Bool) {
        self.name = name
        self.probe = probe
    }
}

/// The admin HTTP server every service has: `/health/live`, `/health/ready`, `/metrics`, plus the
/// service's own admin routes. Errors are RFC 9457 problem documents.
public enum AdminServer {
    /// Builds the Hummingbird application (a `Service`).
    public static func make(
        configuration: ServiceConfiguration.HTTPConfiguration,
        serverName: String,
        registry: PrometheusCollectorRegistry,
        checks: [ReadinessCheck],
        routes: @Sendable (Router<BasicRequestContext>) -> Void = { _ in },
        logger: Logger
    ) throws -> some Service {
        let router = Router()
        router.add(middleware: ProblemMiddleware())
        router.get("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"live"}"#)))
        }
        router.get("/health/ready") { _, _ -> Response in
            var results: [String: Bool] = [:]
            await withTaskGroup(of: (String, Bool).self) { group in
                for check in checks {
                    group.addTask { (check.name, await withProbeDeadline(.seconds(2), check.probe)) }
                }
                for await (name, ok) in group { results[name] = ok }
            }
            let ready = results.values.allSatisfy { $0 }
            let body = try JSONSerialization.data(
                withJSONObject: ["status": ready ? "ready" : "not_ready", "checks": results.mapValues { $0 ? "ok" : "failing" }],
                options: [.sortedKeys]
            )
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        routes(router)

        let address = BindAddress.hostname(configuration.host, port: configuration.port)
        let appConfiguration = ApplicationConfiguration(address: address, serverName: serverName)
        if let certificate = configuration.tlsCertificateFile, let key = configuration.tlsKeyFile {
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
            return AnyAdminApplication(
                Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: appConfiguration, logger: logger)
            )
        }
        return AnyAdminApplication(Application(router: router, configuration: appConfiguration, logger: logger))
    }
}

/// Erases the two application types (plain and TLS) to one `Service`.
struct AnyAdminApplication: Service {
    let body: @Sendable () async throws -> Void
    init<A: ApplicationProtocol>(_ application: A) { self.body = { try await application.run() } }
    func run() async throws { try await self.body() }
}

/// A probe that does not answer within `deadline` counts as failing, and is not waited for.
func withProbeDeadline(_ deadline: Duration, _ probe: @escaping @Sendable () async -> Bool) async -> Bool {
    (try? await abandoning(after: deadline) { await probe() }) ?? false
}
