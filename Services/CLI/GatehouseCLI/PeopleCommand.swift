import ArgumentParser
import Foundation
import GatehouseNATS
import GatehouseWire
import IdentityService
import Logging
import PostgresNIO
import ServiceKit

/// `gatehouse people export|erase`: a person's data (GDPR art. 15/20) and its erasure (art. 17),
/// the same operations as identity's API, for operators.
struct PeopleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "people",
        abstract: "Export or erase a person's personal data.",
        subcommands: [Export.self, Erase.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "The tenant's slug.") var tenant: String
        @Option(help: "The person's id (a UUID).") var person: String

        func validate() throws {
            guard UUID(uuidString: self.person) != nil else { throw ValidationError("--person must be a UUID") }
        }

        /// The tenant's id and the person, or an error naming what is missing.
        func resolve(_ client: PostgresClient, logger: Logger) async throws -> (TenantID, Person) {
            var tenant: TenantID?
            for try await id in try await client.query("SELECT id FROM identity.tenants WHERE slug = \(self.tenant)", logger: logger).decode(
                UUID.self
            ) {
                tenant = TenantID(id)
            }
            guard let tenant else { throw ValidationError("no tenant with the slug \(self.tenant)") }
            guard let person = try await PeopleStore(client: client).get(tenant: tenant, id: UUID(uuidString: self.person)!, logger: logger) else {
                throw ValidationError("no person \(self.person) in \(self.tenant)")
            }
            return (tenant, person)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the person's data as one JSON document.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func run() async throws {
            let target = self.target
            let json = try await self.database.withClient { client, logger in
                let (tenant, person) = try await target.resolve(client, logger: logger)
                let export = try await PersonExport(tenant: tenant, person: person, store: PeopleStore(client: client), logger: logger)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                return String(decoding: try encoder.encode(export), as: UTF8.self)
            }
            print(json)
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase the person's personal data and announce it (identity.person_erased) on NATS.",
            discussion: "Idempotent: erasing again announces again, with the same event id."
        )

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var nats: NATSOptions
        @OptionGroup var target: Target

        func run() async throws {
            let target = self.target
            let nats = self.nats
            let erased = try await self.database.withClient { client, logger in
                let (tenant, person) = try await target.resolve(client, logger: logger)
                // The erasure and its event commit together (identity's outbox); publishing what
                // waits in the outbox now means the event does not wait for the identity service.
                let erased = try await PeopleStore(client: client, outbox: IdentityService.outbox(instance: "gatehouse-cli"))
                    .erase(tenant: tenant, id: person.id, logger: logger)
                do {
                    try await nats.withClient { nats in
                        let relay = OutboxRelay(
                            client: client,
                            schema: IdentityService.schema,
                            transport: NATSTransport(client: nats),
                            logger: logger
                        )
                        while try await relay.publishPending() > 0 {}
                    }
                } catch {
                    // Stored with the erasure: the identity service publishes it when it runs.
                    FileHandle.standardError.write(
                        Data("note: the erasure event waits in identity's outbox (\(error)); the identity service will publish it\n".utf8)
                    )
                }
                return erased
            }
            print("erased person \(erased.id.lowercasedString) of \(target.tenant) and announced it")
        }
    }
}
