import ArgumentParser
import Foundation
import GatehouseNATS
import GatehouseWire
import ServiceKit

/// `gatehouse door present --tenant T --door D --pin 123456` (or `--qr GH1:…`): what a door's keypad
/// or scanner does, for trying visitor passes without hardware and for support staff checking one.
struct DoorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "door",
        abstract: "Act as a door: present a PIN or a QR code to access control.",
        subcommands: [Present.self]
    )

    struct Present: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Present a PIN or a QR code at a door (access.present_credential); print the decision."
        )

        @OptionGroup var nats: NATSOptions
        @Option(help: "The tenant (a UUID).") var tenant: String
        @Option(help: "The door (a UUID).") var door: String
        @Option(help: "The PIN typed.") var pin: String?
        @Option(help: "The QR code's text (GH1:…).") var qr: String?
        @Option(help: "Who presents it, for brute-force counting.") var source = "gatehouse-cli"

        func validate() throws {
            guard TenantID(self.tenant) != nil else { throw ValidationError("--tenant must be a tenant id (UUID)") }
            guard UUID(uuidString: self.door) != nil else { throw ValidationError("--door must be a door id (UUID)") }
            guard (self.pin == nil) != (self.qr == nil) else { throw ValidationError("give either --pin or --qr") }
        }

        func run() async throws {
            guard let tenant = TenantID(self.tenant), let door = UUID(uuidString: self.door) else { return }
            let request = PresentCredential(doorId: door, pin: self.pin, qr: self.qr, source: self.source)
            let result = try await self.nats.withClient { client in
                try await MessageBus(transport: NATSTransport(client: client), source: EventSource(service: "gatehouse-cli", instance: "cli"))
                    .request(request, tenant: tenant, timeout: .seconds(10))
            }
            print(String(decoding: try WireCoding.encode(result), as: UTF8.self))
            if !result.granted { throw ExitCode(2) }
        }
    }
}
