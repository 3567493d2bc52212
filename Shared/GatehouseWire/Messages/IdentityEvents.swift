public import Foundation

// Identity's change events (docs/events.md): one type per resource and change, e.g.
// `io.gatehouse.identity.site_created.v1` on `gatehouse.v1.evt.<tenant>.identity.site_created`.
// The data is the resource document itself. No event carries personal data (names, e-mail
// addresses, phone numbers of people): integrators read those through the API (decision 0008).

/// A resource of the identity service that events announce.
public protocol IdentityResource: Codable, Sendable, Hashable {
    /// `site`, `building`, … : the first half of the event name.
    static var resourceName: String { get }
}

/// What happened to a resource: the second half of the event name.
public protocol IdentityChangeKind: Sendable {
    static var name: String { get }
}

/// The resource was created.
public enum Created: IdentityChangeKind { public static let name = "created" }
/// The resource changed (its `version` grew).
public enum Updated: IdentityChangeKind { public static let name = "updated" }
/// A device was revoked: its SIP credentials are gone (the identity issue's `credential.revoked`).
public enum Revoked: IdentityChangeKind { public static let name = "revoked" }
/// The link ended (a resident moved out of a unit).
public enum Removed: IdentityChangeKind { public static let name = "removed" }
/// The resource no longer exists (its last state is the data).
public enum Deleted: IdentityChangeKind { public static let name = "deleted" }

/// `io.gatehouse.identity.<resource>_<change>.v1` with the resource document as its data.
public struct IdentityChanged<Resource: IdentityResource, Change: IdentityChangeKind>: GatehouseEventData {
    public static var eventType: EventType { EventType(domain: "identity", name: "\(Resource.resourceName)_\(Change.name)") }

    public var resource: Resource

    public init(_ resource: Resource) { self.resource = resource }

    public init(from decoder: any Decoder) throws { self.resource = try Resource(from: decoder) }

    public func encode(to encoder: any Encoder) throws { try self.resource.encode(to: encoder) }
}

public typealias TenantCreated = IdentityChanged<TenantDocument, Created>
public typealias TenantUpdated = IdentityChanged<TenantDocument, Updated>
public typealias TenantDeleted = IdentityChanged<TenantDocument, Deleted>
public typealias SiteCreated = IdentityChanged<SiteDocument, Created>
public typealias SiteUpdated = IdentityChanged<SiteDocument, Updated>
public typealias SiteDeleted = IdentityChanged<SiteDocument, Deleted>
public typealias BuildingCreated = IdentityChanged<BuildingDocument, Created>
public typealias BuildingUpdated = IdentityChanged<BuildingDocument, Updated>
public typealias BuildingDeleted = IdentityChanged<BuildingDocument, Deleted>
public typealias UnitCreated = IdentityChanged<UnitDocument, Created>
public typealias UnitUpdated = IdentityChanged<UnitDocument, Updated>
public typealias UnitDeleted = IdentityChanged<UnitDocument, Deleted>
public typealias DoorCreated = IdentityChanged<DoorDocument, Created>
public typealias DoorUpdated = IdentityChanged<DoorDocument, Updated>
public typealias DoorDeleted = IdentityChanged<DoorDocument, Deleted>
public typealias DeviceCreated = IdentityChanged<DeviceInfo, Created>
public typealias DeviceUpdated = IdentityChanged<DeviceInfo, Updated>
public typealias DeviceRevoked = IdentityChanged<DeviceInfo, Revoked>
public typealias PersonCreated = IdentityChanged<PersonDocument, Created>
public typealias PersonUpdated = IdentityChanged<PersonDocument, Updated>
public typealias APIKeyCreated = IdentityChanged<APIKeyDocument, Created>
public typealias APIKeyRevoked = IdentityChanged<APIKeyDocument, Revoked>
public typealias ResidencyUpdated = IdentityChanged<ResidencyDocument, Updated>
public typealias ResidencyRemoved = IdentityChanged<ResidencyDocument, Removed>

/// A person living in a unit, with their role there. `residency_updated` announces a new resident or
/// a changed role, `residency_removed` a move-out (the unit's ring plan changes with either).
public struct ResidencyDocument: IdentityResource {
    public static let resourceName = "residency"
    public var unitId: UUID
    public var personId: UUID
    /// `owner`, `tenant` or `occupant`.
    public var role: String

    public init(unitId: UUID, personId: UUID, role: String) {
        self.unitId = unitId
        self.personId = personId
        self.role = role
    }

    enum CodingKeys: String, CodingKey { case unitId, personId, role }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.unitId, forKey: .unitId)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encode(self.role, forKey: .role)
    }
}

/// An integrator's API key, without its secret.
public struct APIKeyDocument: IdentityResource {
    public static let resourceName = "api_key"
    public var id: UUID
    public var name: String
    /// The event domains the key may consume.
    public var domains: [String]

    public init(id: UUID, name: String, domains: [String]) {
        self.id = id
        self.name = name
        self.domains = domains
    }

    enum CodingKeys: String, CodingKey { case id, name, domains }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.domains, forKey: .domains)
    }

    /// The domains an integrator's key can be given.
    public static let knownDomains = ["access", "signaling", "media", "inference", "identity", "audit", "system"]
}

/// A tenant (customer). `defaultTimeZone` and `version` were added after the first release: events
/// written before them lack both.
public struct TenantDocument: IdentityResource {
    public static let resourceName = "tenant"
    public var id: TenantID
    public var slug: String
    public var name: String
    /// The IANA time zone new sites start from.
    public var defaultTimeZone: String?
    public var version: Int?

    public init(id: TenantID, slug: String, name: String, defaultTimeZone: String? = nil, version: Int? = nil) {
        self.id = id
        self.slug = slug
        self.name = name
        self.defaultTimeZone = defaultTimeZone
        self.version = version
    }
}

public struct SiteDocument: IdentityResource {
    public static let resourceName = "site"
    public var id: UUID
    public var name: String
    public var timeZone: String
    public var sipDomain: String
    public var version: Int

    public init(id: UUID, name: String, timeZone: String, sipDomain: String, version: Int) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.sipDomain = sipDomain
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, name, timeZone, sipDomain, version }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.timeZone, forKey: .timeZone)
        try container.encode(self.sipDomain, forKey: .sipDomain)
        try container.encode(self.version, forKey: .version)
    }
}

public struct BuildingDocument: IdentityResource {
    public static let resourceName = "building"
    public var id: UUID
    public var siteId: UUID
    public var name: String
    public var version: Int

    public init(id: UUID, siteId: UUID, name: String, version: Int) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, siteId, name, version }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.version, forKey: .version)
    }
}

public struct UnitDocument: IdentityResource {
    public static let resourceName = "unit"
    public var id: UUID
    public var siteId: UUID
    public var buildingId: UUID
    public var dialNumber: String
    public var floor: String?
    public var version: Int

    public init(id: UUID, siteId: UUID, buildingId: UUID, dialNumber: String, floor: String? = nil, version: Int) {
        self.id = id
        self.siteId = siteId
        self.buildingId = buildingId
        self.dialNumber = dialNumber
        self.floor = floor
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, siteId, buildingId, dialNumber, floor, version }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encodeID(self.buildingId, forKey: .buildingId)
        try container.encode(self.dialNumber, forKey: .dialNumber)
        try container.encodeIfPresent(self.floor, forKey: .floor)
        try container.encode(self.version, forKey: .version)
    }
}

public struct DoorDocument: IdentityResource {
    public static let resourceName = "door"
    public var id: UUID
    public var siteId: UUID
    /// Absent for a door the site shares (lobby, garage).
    public var buildingId: UUID?
    public var name: String
    /// `door` or `gate`.
    public var kind: String
    public var version: Int

    public init(id: UUID, siteId: UUID, buildingId: UUID?, name: String, kind: String, version: Int) {
        self.id = id
        self.siteId = siteId
        self.buildingId = buildingId
        self.name = name
        self.kind = kind
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, siteId, buildingId, name, kind, version }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encodeID(self.buildingId, forKey: .buildingId)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.version, forKey: .version)
    }
}

extension DeviceInfo: IdentityResource {
    public static let resourceName = "device"
}

/// A person as events show them: no name, e-mail or phone.
public struct PersonDocument: IdentityResource {
    public static let resourceName = "person"
    public var id: UUID
    /// `resident`, `staff` or `guest`.
    public var kind: String
    public var staffRole: String?
    public var version: Int

    public init(id: UUID, kind: String, staffRole: String? = nil, version: Int) {
        self.id = id
        self.kind = kind
        self.staffRole = staffRole
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, kind, staffRole, version }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.kind, forKey: .kind)
        try container.encodeIfPresent(self.staffRole, forKey: .staffRole)
        try container.encode(self.version, forKey: .version)
    }
}

/// A CSV import was applied (one event per file instead of one per row; decision 0008).
public struct ImportCompleted: GatehouseEventData {
    public static let eventType = EventType(domain: "identity", name: "import_completed")

    /// Created and updated counts per kind of record.
    public struct Counts: Codable, Sendable, Hashable {
        public var created: Int
        public var updated: Int

        public init(created: Int, updated: Int) {
            self.created = created
            self.updated = updated
        }
    }

    public var rows: Int
    public var sites: Counts
    public var buildings: Counts
    public var units: Counts
    public var people: Counts
    public var residences: Counts

    public init(rows: Int, sites: Counts, buildings: Counts, units: Counts, people: Counts, residences: Counts) {
        self.rows = rows
        self.sites = sites
        self.buildings = buildings
        self.units = units
        self.people = people
        self.residences = residences
    }
}
