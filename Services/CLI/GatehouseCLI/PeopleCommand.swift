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
                let residences = try await PeopleStore(client: client).residences(tenant: tenant, person: person.id, logger: logger)
                let object: [String: Any] = [
                    "format": "gatehouse.person-export.v1",
                    "exportedAt": WireCoding.format(Date()),
                    "tenantId": tenant.description,
                    "person": [
                        "id": person.id.lowercasedString, "kind": person.kind.rawValue, "displayName": person.displayName,
                        "email": person.email as Any, "phone": person.phone as Any, "erased": person.erasedAt != nil,
                    ].compactMapValues { $0 is NSNull ? nil : $0 },
                    "residences": residences.map {
                        ["unitId": $0.unitId, "dialNumber": $0.dialNumber, "buildingId": $0.buildingId, "siteId": $0.siteId, "role": $0.role]
                    },
                ]
                return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self)
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
            let (tenant, erased) = try await self.database.withClient { client, logger in
                let (tenant, person) = try await target.resolve(client, logger: logger)
                return (tenant, try await PeopleStore(client: client).erase(tenant: tenant, id: person.id, logger: logger))
            }
            try await self.nats.withClient { client in
                let bus = MessageBus(
                    transport: NATSTransport(client: client),
                    source: EventSource(service: "gatehouse-cli", instance: "people-erase")
                )
                try await bus.publish(
                    PersonErased(personId: erased.id, erasedAt: erased.erasedAt ?? Date()),
                    tenant: tenant,
                    subject: "person/\(erased.id.lowercasedString)",
                    id: PeopleStore.erasureEventID(tenant: tenant, person: erased.id),
                    context: EventContext(person: erased.id)
                )
            }
            print("erased person \(erased.id.lowercasedString) of \(target.tenant) and announced it")
        }
    }
}
