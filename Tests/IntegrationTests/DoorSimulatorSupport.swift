import DoorSimulator
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct DoorSimulatorDidNotStart: Error {}

/// Runs a door simulator on a free loopback port for `body`, which gets it and its base URL.
func withDoorSimulator<T: Sendable>(
    _ configuration: DoorSimulator.Configuration = .init(username: "admin", password: "door-secret", webhookSecret: "hook-secret"),
    _ body: @Sendable (DoorSimulator, String) async throws -> T
) async throws -> T {
    let simulator = DoorSimulator(configuration: configuration)
    let router = Router()
    simulator.register(on: router)
    let (ports, bound) = AsyncStream.makeStream(of: Int.self)
    let logger = Logger(label: "doorsim")
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in bound.yield(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    let services = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await services.triggerGracefulShutdown()
            throw DoorSimulatorDidNotStart()
        }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(simulator, "http://127.0.0.1:\(port)"))
        } catch {
            result = .failure(error)
        }
        // Release a request the test left hanging, so the server can finish it and stop.
        simulator.setBehaviour(.init())
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
        return try result.get()
    }
}
