import ArgumentParser
import DoorSimulator
import Foundation
import GatehouseWire
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

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
    @Option(help: "Access's admin HTTP base URL: follow this door's offline bundle and decide from it when access is unreachable.")
    var accessURL: String?
    @Option(help: "The tenant of the followed door.") var tenant: String?
    @Option(help: "The followed door's id.") var door: String?
    @Option(help: "Environment variable holding the door's device token (POST …/doors/{door}/device-token).")
    var deviceTokenEnv = "GATEHOUSE_DOORSIM_DEVICE_TOKEN"
    @Option(help: "Access's signing key (base64), as the device-token answer gives it.") var signingKey: String?

    func run() async throws {
        var logger = Logger(label: "gatehouse-doorsim")
        logger.logLevel = .info
        guard let password = ProcessInfo.processInfo.environment[self.passwordEnv], !password.isEmpty else {
            throw ValidationError("set \(self.passwordEnv) to the password the simulated station accepts")
        }
        var offline: OfflineFollower?
        if let accessURL = self.accessURL {
            guard let tenant = self.tenant.flatMap(TenantID.init), let door = self.door.flatMap(UUID.init(uuidString:)),
                let token = ProcessInfo.processInfo.environment[self.deviceTokenEnv], !token.isEmpty, let signingKey = self.signingKey
            else {
                throw ValidationError("--access-url needs --tenant, --door, --signing-key and the device token in \(self.deviceTokenEnv)")
            }
            offline = try OfflineFollower(
                configuration: .init(accessURL: accessURL, tenant: tenant, door: door, token: token, signingKey: signingKey),
                logger: logger
            )
        }
        let simulator = DoorSimulator(
            configuration: .init(
                username: self.username,
                password: password,
                webhookSecret: ProcessInfo.processInfo.environment[self.webhookSecretEnv] ?? "",
                relays: self.relays
            ),
            offline: offline
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
        let services: [any Service] = [app] + (offline.map { [$0] } ?? [])
        try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
}
