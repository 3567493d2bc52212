import Foundation
public import Logging
import NIOCore
public import PostgresNIO

/// Where the integration servers are, from the environment `make test` sets.
///
/// Missing servers skip a test locally (with a message naming the variable) but fail it under
/// `CI=true`: in CI nothing skips silently.
public enum TestEnvironment {
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// The value of `name`, or `nil` when unset (then tests using it are disabled locally).
    public static func value(_ name: String) -> String? {
        let value = ProcessInfo.processInfo.environment[name]
        return value?.isEmpty == false ? value : nil
    }

    /// True when a test needing `names` should run: they are all set, or we are in CI (where
    /// the test will then fail loudly).
    public static func enabled(_ names: String...) -> Bool {
        self.isCI || names.allSatisfy { self.value($0) != nil }
    }

    /// The value of `name`, or a thrown error naming it.
    public static func require(_ name: String) throws -> String {
        guard let value = self.value(name) else { throw MissingTestEnvironment(variable: name) }
        return value
    }

    public static var natsURL: String { get throws { try self.require("NATS_URL") } }

    /// The `GATEHOUSE_POSTGRES_*` variables that point a service or the CLI at the test database,
    /// merged into this process's environment.
    /// The NATS users with rights that clients without credentials lack (deploy/nats/nats.conf):
    /// their passwords come from `GATEHOUSE_NATS_<USER>_PASSWORD`, which `make test` exports.
    public enum NATSUser: String, Sendable {
        case identity, signaling, access

        public var password: String { get throws { try TestEnvironment.require("GATEHOUSE_NATS_\(self.rawValue.uppercased())_PASSWORD") } }
    }

    /// The environment of a Gatehouse process under test; `natsUser` gives it that NATS user.
    public static func serviceEnvironment(natsUser: NATSUser? = nil) throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let natsUser {
            environment["GATEHOUSE_NATS_USER"] = natsUser.rawValue
            environment["GATEHOUSE_NATS_PASSWORD"] = try natsUser.password
        }
        environment["GATEHOUSE_POSTGRES_HOST"] = try self.require("POSTGRES_HOSTNAME")
        environment["GATEHOUSE_POSTGRES_PORT"] = self.value("POSTGRES_PORT")
        environment["GATEHOUSE_POSTGRES_USER"] = self.value("POSTGRES_USER")
        environment["GATEHOUSE_POSTGRES_PASSWORD"] = self.value("POSTGRES_PASSWORD")
        environment["GATEHOUSE_POSTGRES_DATABASE"] = self.value("POSTGRES_DB")
        return environment
    }

    public static func postgresConfiguration() throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: try self.require("POSTGRES_HOSTNAME"),
            port: Int(self.value("POSTGRES_PORT") ?? "5432") ?? 5432,
            username: self.value("POSTGRES_USER") ?? "gatehouse",
            password: self.value("POSTGRES_PASSWORD"),
            database: self.value("POSTGRES_DB") ?? "gatehouse",
            tls: .disable
        )
        configuration.options.maximumConnections = 8
        return configuration
    }
}

public struct MissingTestEnvironment: Error, CustomStringConvertible {
    public var variable: String
    public var description: String { "\(self.variable) is not set: run the tests through `make test`" }
}

/// Runs `body` with a running `PostgresClient` of the test database.
public func withTestPostgres<R: Sendable>(
    logger: Logger = Logger(label: "test"),
    _ body: @Sendable (PostgresClient) async throws -> R
) async throws -> R {
    let client = PostgresClient(configuration: try TestEnvironment.postgresConfiguration(), backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// Polls `condition` until it holds or `timeout` passes: the way tests wait for readiness.
public func eventually(
    timeout: Duration = .seconds(10),
    interval: Duration = .milliseconds(50),
    _ condition: @Sendable () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
