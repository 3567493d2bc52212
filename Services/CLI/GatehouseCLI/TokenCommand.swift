import ArgumentParser
import Configuration
import Foundation
import GatehouseAuth
import GatehouseWire
import ServiceKit

/// `gatehouse token issue`: an operator's bootstrap access token, signed with the issuer key.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue access tokens with the issuer key (operator bootstrap).",
        subcommands: [Issue.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a signed access token for a role in a tenant.",
            discussion: """
                Signs with GATEHOUSE_AUTH_ISSUER_KEY (or, locally, .gatehouse/secrets/auth.issuerkey), the key the \\
                identity service publishes. Whoever holds that key can act as anyone: keep it with the operator.
                """
        )

        @Option(help: "The tenant's id (a UUID; 00000000-0000-0000-0000-000000000000 for the operator).") var tenant: String
        @Option(help: "One of: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
        @Option(help: "A site the token reaches (property managers; repeatable).") var site: [String] = []
        @Option(help: "A building the token reaches (staff; repeatable).") var building: [String] = []
        @Option(help: "Who the token is for.") var subject = "operator-cli"
        @Option(help: "Minutes until it expires (1…1440).") var minutes = 15

        func validate() throws {
            guard TenantID(self.tenant) != nil else { throw ValidationError("--tenant must be a UUID") }
            guard Role(rawValue: self.role) != nil else { throw ValidationError("--role must be one of \(Role.allCases.map(\.rawValue))") }
            guard (1...1440).contains(self.minutes) else { throw ValidationError("--minutes must be 1…1440") }
            for id in self.site + self.building where UUID(uuidString: id) == nil { throw ValidationError("\(id) is not a UUID") }
        }

        func run() async throws {
            guard let seed = try await LocalSecrets.key(configKey: "auth.issuerKey", name: "auth.issuerkey") else {
                throw ValidationError("no issuer key: set GATEHOUSE_AUTH_ISSUER_KEY")
            }
            let claims = AccessClaims(
                subject: self.subject,
                tenant: TenantID(self.tenant)!,
                role: Role(rawValue: self.role)!,
                sites: self.site.isEmpty ? nil : self.site.compactMap(UUID.init(uuidString:)),
                buildings: self.building.isEmpty ? nil : self.building.compactMap(UUID.init(uuidString:)),
                lifetime: .seconds(self.minutes * 60)
            )
            print(try TokenSigner(seed: Array(seed)).sign(claims))
        }
    }
}
