public import GatehouseNATS
import Logging

/// Runs `body` with a client connected to `url` (configured by `configure`), then shuts it down.
/// `user` connects as that NATS user (with its own inboxes, as the service does); `nil` connects
/// without credentials.
public func withNATSClient<R: Sendable>(
    _ url: String,
    as user: TestEnvironment.NATSUser? = nil,
    configure: (inout NATSConfiguration) -> Void = { _ in },
    _ body: @Sendable (NATSClient) async throws -> R
) async throws -> R {
    var configuration = NATSConfiguration(servers: [url], reconnectWait: .milliseconds(100))
    if let user {
        configuration.user = user.rawValue
        configuration.password = try user.password
        configuration.inboxPrefix = "_INBOX_\(user.rawValue)"
    }
    configure(&configuration)
    let client = NATSClient(configuration: configuration, logger: Logger(label: "test"))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}
