public import Foundation

// Requests the identity service answers for the other services (docs/events.md, "Requests").
// Ids are lower-case UUID strings on the wire, like every id of the contract.

/// What a device is: a door station (or gate), a resident's SIP phone or app, an indoor monitor.
public enum DeviceKind: String, Codable, Sendable, Hashable, CaseIterable {
    case doorStation = "door_station"
    case sipPhone = "sip_phone"
    case indoorMonitor = "indoor_monitor"
}

extension KeyedEncodingContainer {
    /// Encodes a UUID the way the wire writes ids (lower-case), leaving the key out when `nil`.
    mutating func encodeID(_ id: UUID?, forKey key: Key) throws {
        try self.encodeIfPresent(id?.lowercasedString, forKey: key)
    }
}

/// signaling → identity: the digest secrets of the SIP account `username@realm`.
///
/// Only signaling may send it (NATS permissions, docs/security.md). Answers `not_found` for an
/// unknown or revoked account, the same for both so the reply tells nothing more.
public struct SIPDigestLookup: GatehouseRequest {
    public typealias Response = SIPAccount
    public static let method = RPCMethod(service: .identity, name: "sip_digest")
    public var method: RPCMethod { Self.method }

    /// The realm: the site's SIP domain.
    public var realm: String
    public var username: String

    public init(realm: String, username: String) {
        self.realm = realm
        self.username = username
    }
}

/// A SIP account's digest secrets: `HA1 = H(username ":" realm ":" password)` in MD5 (RFC 2617,
/// for older door stations) and SHA-256 (RFC 8760), as lower-case hex. The password itself is
/// never stored.
public struct SIPAccount: Codable, Sendable, Hashable {
    public var tenantId: TenantID
    public var siteId: UUID
    public var deviceId: UUID
    public var kind: DeviceKind
    public var username: String
    public var realm: String
    public var ha1MD5: String
    public var ha1SHA256: String
    /// The door a door station serves.
    public var doorId: UUID?
    /// The unit and person a resident's device belongs to.
    public var unitId: UUID?
    public var personId: UUID?

    public init(
        tenantId: TenantID,
        siteId: UUID,
        deviceId: UUID,
        kind: DeviceKind,
        username: String,
        realm: String,
        ha1MD5: String,
        ha1SHA256: String,
        doorId: UUID? = nil,
        unitId: UUID? = nil,
        personId: UUID? = nil
    ) {
        self.tenantId = tenantId
        self.siteId = siteId
        self.deviceId = deviceId
        self.kind = kind
        self.username = username
        self.realm = realm
        self.ha1MD5 = ha1MD5
        self.ha1SHA256 = ha1SHA256
        self.doorId = doorId
        self.unitId = unitId
        self.personId = personId
    }

    enum CodingKeys: String, CodingKey {
        case tenantId, siteId, deviceId, kind, username, realm, ha1MD5, ha1SHA256, doorId, unitId, personId
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.tenantId, forKey: .tenantId)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encodeID(self.deviceId, forKey: .deviceId)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.username, forKey: .username)
        try container.encode(self.realm, forKey: .realm)
        try container.encode(self.ha1MD5, forKey: .ha1MD5)
        try container.encode(self.ha1SHA256, forKey: .ha1SHA256)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encodeID(self.unitId, forKey: .unitId)
        try container.encodeID(self.personId, forKey: .personId)
    }
}

/// signaling → identity: who answers when `dialled` is called at the site with SIP domain
/// `sipDomain` (a door station calling "101" at `sip:101@demo.gatehouse.test`).
///
/// Answers `not_found` when the domain or the number is unknown.
public struct ResolveDialTarget: GatehouseRequest {
    public typealias Response = DialPlan
    public static let method = RPCMethod(service: .identity, name: "resolve_dial")
    public var method: RPCMethod { Self.method }

    public var sipDomain: String
    /// The user part of the request URI: a unit's dial number.
    public var dialled: String

    public init(sipDomain: String, dialled: String) {
        self.sipDomain = sipDomain
        self.dialled = dialled
    }
}

/// The ordered ring plan of a unit: step 1 rings the devices of the unit's residents in parallel;
/// the later steps are the fallbacks configured for the building, then the site (concierge and
/// staff devices, then external numbers through the site's trunk). Signaling moves to the next
/// step when a step's `ringSeconds` pass unanswered, everyone is busy, or nobody is registered.
public struct DialPlan: Codable, Sendable, Hashable {
    public var tenantId: TenantID
    public var siteId: UUID
    public var buildingId: UUID
    public var unitId: UUID
    public var dialNumber: String
    /// The site's IANA time zone (after-hours rules are local).
    public var timeZone: String
    public var steps: [RingStep]

    public init(
        tenantId: TenantID,
        siteId: UUID,
        buildingId: UUID,
        unitId: UUID,
        dialNumber: String,
        timeZone: String,
        steps: [RingStep]
    ) {
        self.tenantId = tenantId
        self.siteId = siteId
        self.buildingId = buildingId
        self.unitId = unitId
        self.dialNumber = dialNumber
        self.timeZone = timeZone
        self.steps = steps
    }

    enum CodingKeys: String, CodingKey { case tenantId, siteId, buildingId, unitId, dialNumber, timeZone, steps }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.tenantId, forKey: .tenantId)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encodeID(self.buildingId, forKey: .buildingId)
        try container.encodeID(self.unitId, forKey: .unitId)
        try container.encode(self.dialNumber, forKey: .dialNumber)
        try container.encode(self.timeZone, forKey: .timeZone)
        try container.encode(self.steps, forKey: .steps)
    }
}

/// One step of a ring plan: its targets ring at once.
public struct RingStep: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        /// The unit's residents' devices.
        case unit
        /// Staff (concierge, security) devices configured as fallback.
        case staff
        /// External numbers through the site's outbound trunk.
        case external
        /// A door station a resident or staff member called (signaling's own one-step plan; never
        /// in identity's ring plans).
        case doorStation = "door_station"
    }

    /// When a fallback step rings, against the site's call hours (access control's, decision 0021).
    public enum Hours: String, Codable, Sendable, Hashable, CaseIterable {
        /// At any time (what an absent `hours` means).
        case always
        /// Only within the site's call hours (a concierge desk that is staffed by day).
        case business
        /// Only outside them (the night porter's phone, an external number).
        case afterHours = "after_hours"
    }

    public var kind: Kind
    public var ringSeconds: Int
    public var targets: [RingTarget]
    /// Absent: at any time.
    public var hours: Hours?

    public init(kind: Kind, ringSeconds: Int, targets: [RingTarget], hours: Hours? = nil) {
        self.kind = kind
        self.ringSeconds = ringSeconds
        self.targets = targets
        self.hours = hours == .always ? nil : hours
    }
}

/// Something to ring: a device's SIP account (its address of record is
/// `sip:<sipUsername>@<site domain>`), or an external number.
public struct RingTarget: Codable, Sendable, Hashable {
    public var deviceId: UUID?
    public var sipUsername: String?
    public var personId: UUID?
    /// An E.164 number, for `external` steps.
    public var number: String?

    public init(deviceId: UUID? = nil, sipUsername: String? = nil, personId: UUID? = nil, number: String? = nil) {
        self.deviceId = deviceId
        self.sipUsername = sipUsername
        self.personId = personId
        self.number = number
    }

    enum CodingKeys: String, CodingKey { case deviceId, sipUsername, personId, number }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.deviceId, forKey: .deviceId)
        try container.encodeIfPresent(self.sipUsername, forKey: .sipUsername)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encodeIfPresent(self.number, forKey: .number)
    }
}

/// Any service → identity: one device of the tenant named in the `Gatehouse-Tenant` header
/// (required); `not_found` for a device of another tenant.
public struct DeviceLookup: GatehouseRequest {
    public typealias Response = DeviceInfo
    public static let method = RPCMethod(service: .identity, name: "device")
    public var method: RPCMethod { Self.method }

    public var deviceId: UUID

    public init(deviceId: UUID) { self.deviceId = deviceId }

    enum CodingKeys: String, CodingKey { case deviceId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.deviceId, forKey: .deviceId)
    }
}

/// A device as other services see it (no secrets).
public struct DeviceInfo: Codable, Sendable, Hashable {
    public var id: UUID
    public var tenantId: TenantID
    public var siteId: UUID
    public var kind: DeviceKind
    public var name: String
    /// Door stations: `2n`, `akuvox`, `doorbird`, `aiphone` or `generic`.
    public var vendor: String?
    public var model: String?
    public var doorId: UUID?
    public var unitId: UUID?
    public var personId: UUID?
    public var sipUsername: String
    public var sipRealm: String
    /// Door stations: the base URL of the vendor's HTTP API that opens the door.
    public var controlURL: String?
    public var online: Bool
    public var revoked: Bool
    /// Grows with every change of the device (a new SIP password among them).
    public var version: Int

    public init(
        id: UUID,
        tenantId: TenantID,
        siteId: UUID,
        kind: DeviceKind,
        name: String,
        vendor: String? = nil,
        model: String? = nil,
        doorId: UUID? = nil,
        unitId: UUID? = nil,
        personId: UUID? = nil,
        sipUsername: String,
        sipRealm: String,
        controlURL: String? = nil,
        online: Bool,
        revoked: Bool,
        version: Int = 1
    ) {
        self.id = id
        self.tenantId = tenantId
        self.siteId = siteId
        self.kind = kind
        self.name = name
        self.vendor = vendor
        self.model = model
        self.doorId = doorId
        self.unitId = unitId
        self.personId = personId
        self.sipUsername = sipUsername
        self.sipRealm = sipRealm
        self.controlURL = controlURL
        self.online = online
        self.revoked = revoked
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, tenantId, siteId, kind, name, vendor, model, doorId, unitId, personId, sipUsername, sipRealm, controlURL
        case online, revoked, version
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.tenantId, forKey: .tenantId)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.name, forKey: .name)
        try container.encodeIfPresent(self.vendor, forKey: .vendor)
        try container.encodeIfPresent(self.model, forKey: .model)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encodeID(self.unitId, forKey: .unitId)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encode(self.sipUsername, forKey: .sipUsername)
        try container.encode(self.sipRealm, forKey: .sipRealm)
        try container.encodeIfPresent(self.controlURL, forKey: .controlURL)
        try container.encode(self.online, forKey: .online)
        try container.encode(self.revoked, forKey: .revoked)
        try container.encode(self.version, forKey: .version)
    }
}

/// Any service → identity: a person of the tenant in the `Gatehouse-Tenant` header (required), with
/// the units they live in and the staff scope they have; no personal data.
public struct PersonLookup: GatehouseRequest {
    public typealias Response = PersonInfo
    public static let method = RPCMethod(service: .identity, name: "person")
    public var method: RPCMethod { Self.method }

    public var personId: UUID

    public init(personId: UUID) { self.personId = personId }

    enum CodingKeys: String, CodingKey { case personId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.personId, forKey: .personId)
    }
}

/// A person as other services see them.
public struct PersonInfo: Codable, Sendable, Hashable {
    public struct Residence: Codable, Sendable, Hashable {
        public var unitId: UUID
        public var siteId: UUID
        public var buildingId: UUID
        /// `owner`, `tenant` or `occupant`.
        public var role: String

        public init(unitId: UUID, siteId: UUID, buildingId: UUID, role: String) {
            self.unitId = unitId
            self.siteId = siteId
            self.buildingId = buildingId
            self.role = role
        }

        enum CodingKeys: String, CodingKey { case unitId, siteId, buildingId, role }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeID(self.unitId, forKey: .unitId)
            try container.encodeID(self.siteId, forKey: .siteId)
            try container.encodeID(self.buildingId, forKey: .buildingId)
            try container.encode(self.role, forKey: .role)
        }
    }

    public var id: UUID
    public var tenantId: TenantID
    /// `resident`, `staff` or `guest`.
    public var kind: String
    /// Staff: `tenant-admin`, `property-manager` or `staff`.
    public var staffRole: String?
    public var siteIds: [UUID]
    public var buildingIds: [UUID]
    public var residences: [Residence]
    public var erased: Bool

    public init(
        id: UUID,
        tenantId: TenantID,
        kind: String,
        staffRole: String? = nil,
        siteIds: [UUID] = [],
        buildingIds: [UUID] = [],
        residences: [Residence] = [],
        erased: Bool = false
    ) {
        self.id = id
        self.tenantId = tenantId
        self.kind = kind
        self.staffRole = staffRole
        self.siteIds = siteIds
        self.buildingIds = buildingIds
        self.residences = residences
        self.erased = erased
    }

    enum CodingKeys: String, CodingKey { case id, tenantId, kind, staffRole, siteIds, buildingIds, residences, erased }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.tenantId, forKey: .tenantId)
        try container.encode(self.kind, forKey: .kind)
        try container.encodeIfPresent(self.staffRole, forKey: .staffRole)
        try container.encode(self.siteIds.map(\.lowercasedString), forKey: .siteIds)
        try container.encode(self.buildingIds.map(\.lowercasedString), forKey: .buildingIds)
        try container.encode(self.residences, forKey: .residences)
        try container.encode(self.erased, forKey: .erased)
    }
}

/// Any service → identity: is this access token still good? Beyond what a service checks locally
/// against the JWKS (signature, expiry, audience), identity answers `active: false` for a token
/// issued before its person's sessions were revoked (password change, erasure) or whose person is
/// gone.
public struct IntrospectToken: GatehouseRequest {
    public typealias Response = TokenIntrospection
    public static let method = RPCMethod(service: .identity, name: "introspect")
    public var method: RPCMethod { Self.method }

    public var token: String

    public init(token: String) { self.token = token }
}

/// RFC 7662-style answer; the other fields are present only when `active`.
public struct TokenIntrospection: Codable, Sendable, Hashable {
    public var active: Bool
    public var tenantId: TenantID?
    public var subject: String?
    public var role: String?
    public var expiresAt: Date?

    public init(active: Bool, tenantId: TenantID? = nil, subject: String? = nil, role: String? = nil, expiresAt: Date? = nil) {
        self.active = active
        self.tenantId = tenantId
        self.subject = subject
        self.role = role
        self.expiresAt = expiresAt
    }
}

/// Any service → identity: one door (or gate) of the tenant in the `Gatehouse-Tenant` header
/// (required), with where it is and the door stations that serve it; `not_found` for a door of
/// another tenant.
public struct DoorLookup: GatehouseRequest {
    public typealias Response = DoorInfo
    public static let method = RPCMethod(service: .identity, name: "door")
    public var method: RPCMethod { Self.method }

    public var doorId: UUID

    public init(doorId: UUID) { self.doorId = doorId }

    enum CodingKeys: String, CodingKey { case doorId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.doorId, forKey: .doorId)
    }
}

/// Any service → identity: one site of the tenant in the `Gatehouse-Tenant` header (required);
/// `not_found` for a site of another tenant.
public struct SiteLookup: GatehouseRequest {
    public typealias Response = SiteInfo
    public static let method = RPCMethod(service: .identity, name: "site")
    public var method: RPCMethod { Self.method }

    public var siteId: UUID

    public init(siteId: UUID) { self.siteId = siteId }

    enum CodingKeys: String, CodingKey { case siteId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.siteId, forKey: .siteId)
    }
}

/// A site as other services see it.
public struct SiteInfo: Codable, Sendable, Hashable {
    public var id: UUID
    public var tenantId: TenantID
    public var name: String
    /// The IANA time zone its schedules and wall-clock times are read in.
    public var timeZone: String
    public var sipDomain: String

    public init(id: UUID, tenantId: TenantID, name: String, timeZone: String, sipDomain: String) {
        self.id = id
        self.tenantId = tenantId
        self.name = name
        self.timeZone = timeZone
        self.sipDomain = sipDomain
    }

    enum CodingKeys: String, CodingKey { case id, tenantId, name, timeZone, sipDomain }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.tenantId, forKey: .tenantId)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.timeZone, forKey: .timeZone)
        try container.encode(self.sipDomain, forKey: .sipDomain)
    }
}

/// A door as other services see it.
public struct DoorInfo: Codable, Sendable, Hashable {
    /// A door station (not revoked) at the door.
    public struct Station: Codable, Sendable, Hashable {
        public var deviceId: UUID
        /// `2n`, `akuvox`, `doorbird`, `aiphone` or `generic`: which door adapter opens it.
        public var vendor: String
        /// The base URL of the vendor's HTTP API (absent: the station cannot be driven over HTTP).
        public var controlURL: String?
        public var online: Bool

        public init(deviceId: UUID, vendor: String, controlURL: String?, online: Bool) {
            self.deviceId = deviceId
            self.vendor = vendor
            self.controlURL = controlURL
            self.online = online
        }

        enum CodingKeys: String, CodingKey { case deviceId, vendor, controlURL, online }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeID(self.deviceId, forKey: .deviceId)
            try container.encode(self.vendor, forKey: .vendor)
            try container.encodeIfPresent(self.controlURL, forKey: .controlURL)
            try container.encode(self.online, forKey: .online)
        }
    }

    public var id: UUID
    public var tenantId: TenantID
    public var siteId: UUID
    /// Absent for a door the site's buildings share (lobby, garage).
    public var buildingId: UUID?
    public var name: String
    /// `door` or `gate`.
    public var kind: String
    /// The site's IANA time zone.
    public var timeZone: String
    public var stations: [Station]

    public init(
        id: UUID,
        tenantId: TenantID,
        siteId: UUID,
        buildingId: UUID?,
        name: String,
        kind: String,
        timeZone: String,
        stations: [Station]
    ) {
        self.id = id
        self.tenantId = tenantId
        self.siteId = siteId
        self.buildingId = buildingId
        self.name = name
        self.kind = kind
        self.timeZone = timeZone
        self.stations = stations
    }

    enum CodingKeys: String, CodingKey { case id, tenantId, siteId, buildingId, name, kind, timeZone, stations }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.id, forKey: .id)
        try container.encode(self.tenantId, forKey: .tenantId)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encodeID(self.buildingId, forKey: .buildingId)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.timeZone, forKey: .timeZone)
        try container.encode(self.stations, forKey: .stations)
    }
}
