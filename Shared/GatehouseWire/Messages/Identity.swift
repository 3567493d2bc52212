public import Foundation

/// A person's personal data was erased on request (GDPR art. 17). Tenant scope; the event's
/// `personid` attribute names the person. The audit log destroys the person's key on receipt, which
/// leaves their audit records pseudonymous (docs/audit.md).
public struct PersonErased: GatehouseEventData {
    public static let eventType = EventType(domain: "identity", name: "person_erased")

    public var personId: UUID
    /// When identity erased the person's own records.
    public var erasedAt: Date

    public init(personId: UUID, erasedAt: Date) {
        self.personId = personId
        self.erasedAt = erasedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.personId.lowercasedString, forKey: .personId)
        try container.encode(self.erasedAt, forKey: .erasedAt)
    }

    enum CodingKeys: String, CodingKey { case personId, erasedAt }
}
