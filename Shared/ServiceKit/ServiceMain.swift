public import Configuration
import Foundation
import GatehouseWire
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import SystemPackage
import UnixSignals

/// The entry point of every service executable: configuration, logging, metrics, then the service
/// under a `ServiceGroup` that turns SIGTERM/SIGINT into a graceful shutdown.
public enum ServiceMain {
    /// Reads configuration from the environment (`GATEHOUSE_*`) and, if `GATEHOUSE_CONFIG_FILE`
    /// names one, a JSON file (the environment wins).
    public static func makeConfigReader() async throws -> ConfigReader {
        var providers: [any ConfigProvider] = [EnvironmentVariablesProvider()]
        if let file = ProcessInfo.processInfo.environment["GATEHOUSE_CONFIG_FILE"], !file.isEmpty {
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
        }
        return ConfigReader(providers: providers)
    }

    /// Runs `definition` until SIGTERM or SIGINT, then shuts down gracefully within the grace period.
    public static func run(_ definition: ServiceDefinition) async throws {
        let config = try await self.makeConfigReader().scoped(to: "gatehouse")
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(service: definition.name, config: config)
        } catch {
            FileHandle.standardError.write(Data("\(definition.name): invalid configuration: \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        LoggingBootstrap.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        var logger = Logger(label: definition.name.rawValue)
        logger[metadataKey: "gatehouse.instance"] = "\(configuration.instance)"
        let app = ServiceApp(definition: definition, configuration: configuration, config: config, logger: logger, registry: registry)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.gracePeriod
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch let error as GatehouseError where error.code == .invalidConfiguration {
            // A key the service's own settings need (read while it builds its components).
            FileHandle.standardError.write(Data("\(definition.name): invalid configuration: \(error.message)\n".utf8))
            exit(78)  // EX_CONFIG
        } catch {
            // A dependency failed for good (NATS, JetStream, PostgreSQL): say so and exit 1 for the
            // supervisor to restart us, instead of a crash report.
            logger.critical("stopped: \(error)")
            FileHandle.standardError.write(Data("\(definition.name): stopped: \(error)\n".utf8))
            exit(1)
        }
    }
}
