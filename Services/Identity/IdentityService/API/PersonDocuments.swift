import Foundation
package import GatehouseWire
package import Logging
import ServiceKit

/// A person as the API and the CLI show them.
package struct PersonResource: Codable, Sendable {
    var id: String
    var kind: String
    var displayName: String
    var email: String?
    var phone: String?
    var staffRole: String?
    /// A staff member's sites and buildings; absent for everyone else.
    var siteIds: [String]?
    var buildingIds: [String]?
    /// A guest's host and when the guest's record ends.
    var hostPersonId: String?
    var expiresAt: String?
    var erased: Bool
    var erasedAt: String?
    var version: Int
    var createdAt: String
    var updatedAt: String

    package init(_ person: Person) {
        self.id = person.id.lowercasedString
        self.kind = person.kind.rawValue
        self.displayName = person.displayName
        self.email = person.email
        self.phone = person.phone
        self.staffRole = person.staffRole
        if person.kind == .staff {
            self.siteIds = person.siteIds.map(\.lowercasedString)
            self.buildingIds = person.buildingIds.map(\.lowercasedString)
        }
        self.hostPersonId = person.hostPersonId?.lowercasedString
        self.expiresAt = person.expiresAt.map(WireCoding.format)
        self.erased = person.erasedAt != nil
        self.erasedAt = person.erasedAt.map(WireCoding.format)
        self.version = person.version
        self.createdAt = WireCoding.format(person.createdAt)
        self.updatedAt = WireCoding.format(person.updatedAt)
    }
}

/// A person's data as one document (GDPR art. 15 and 20): `GET …/people/{person}/export` and
/// `gatehouse people export`.
package struct PersonExport: Encodable, Sendable {
    var format = "gatehouse.person-export.v1"
    var exportedAt: String
    var tenantId: String
    var person: PersonResource
    var residences: [Residence]

    package init(tenant: TenantID, person: Person, store: PeopleStore, logger: Logger) async throws {
        self.exportedAt = WireCoding.format(Date())
        self.tenantId = tenant.description
        self.person = PersonResource(person)
        self.residences = try await store.residences(tenant: tenant, person: person.id, logger: logger)
    }
}
