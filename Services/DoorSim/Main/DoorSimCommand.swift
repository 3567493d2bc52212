import ArgumentParser
import DoorSimulator
import Foundation
import Hummingbird
import Logging

/// `gatehouse-doorsim`: a door station's HTTP API for tests and the demo (docs/operations.md).
@main
struct DoorSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse-doorsim",
        abstract: "Simulates a door station's HTTP API (2N, Akuvox, DoorBird, signed webhook) and records every relay trigger."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed on start).") var port = 8090
    @Option(help: "User name the station accepts.") var username = "admin"
    @Option(help: "Environment variable holding the station's password.") var passwordEnv = "GATEHOUSE_DOORSIM_PASSWORD"
    @Option(help: "Environment variable holding the webhook secret.") var webhookSecretEnv = "GATEHOUSE_DOORSIM_WEBHOOK_SECRET"
    @Option(help: "Number of relays.") var relays = 4

    func run() async throws {
        var logger = Logger(label: "gatehouse-doorsim")
        logger.logLevel = .info
        guard let password = ProcessInfo.processInfo.environment[self.passwordEnv], !password.isEmpty else {
            throw ValidationError("set \(self.passwordEnv) to the password the simulated station accepts")
        }
        let simulator = DoorSimulator(
            configuration: .init(
                username: self.username,
                password: password,
                webhookSecret: ProcessInfo.processInfo.environment[self.webhookSecretEnv] ?? "",
                relays: self.relays
            )
        )
        let router = Router()
        simulator.register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(self.host, port: self.port), serverName: "gatehouse-doorsim"),
            onServerRunning: { channel in
                print("gatehouse-doorsim listening on http://\(self.host):\(channel.localAddress?.port ?? 0)")
            },
            logger: logger
        )
        try await app.runService()
    }
}
