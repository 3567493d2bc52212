public import Foundation

// Access control's requests and events (docs/events.md): who may open which door, and what
// happened when a door was told to open.

/// Why a door was or was not opened: a fixed vocabulary modelled on 2N's access log. Integrators
/// and support staff read these names; a new reason is a new case, never a renamed one.
public enum AccessReason: String, Codable, Sendable, Hashable, CaseIterable {
    // Granted.
    /// A resident of a unit the door serves (a door of their building, or a door the site shares).
    case resident
    /// A valid visitor pass (PIN or QR code) for this door.
    case pass
    /// Staff whose buildings or sites include the door.
    case staff
    /// A tenant or operator administrator.
    case administrator
    /// A member of an access group that includes the door, within the group's schedule.
    case group
    /// The door is in a free-access window (or an "open" exception): anyone recognised enters.
    case freeAccess
    // Denied.
    /// Nobody with that credential or identity exists (or it belongs to another tenant).
    case invalidCredential
    /// The person exists but has no authority over this door.
    case noAuthority
    /// Outside the schedule that allows it.
    case invalidTime
    /// The door is locked by an administrator.
    case apLocked
    /// The site is in lockdown.
    case lockdown
    case usesExhausted
    case revoked
    /// Biometric entry without recorded consent.
    case noConsent
    /// Too many attempts: the door backs off.
    case rateLimited
    /// The person's data has been erased.
    case erased

    public var grants: Bool {
        switch self {
        case .resident, .pass, .staff, .administrator, .group, .freeAccess: true
        default: false
        }
    }
}

/// Where an unlock request came from.
public enum UnlockChannel: String, Codable, Sendable, Hashable, CaseIterable {
    /// A resident pressed the door-open key during a call from the door (signaling).
    case call
    /// Staff or a resident through the admin HTTP API or the resident app.
    case api
    /// A PIN typed at the door.
    case pin
    /// A visitor pass's QR code shown to the door.
    case qr
    /// An access card (Wiegand or a raw UID) held to the door's reader.
    case card
    /// A licence plate read at a gate.
    case plate
    /// A resident's phone, signing the request with its registered key.
    case mobileKey
    /// A face matched by inference to a template of a consenting person.
    case face
}

/// signaling → access: open `doorId` with the authority of `personId` (the resident who answered
/// the door station's call and pressed the door-open key). Access checks that authority; a door of
/// another tenant answers `not_found`.
public struct UnlockDoor: GatehouseRequest {
    public typealias Response = UnlockResult
    public static let method = RPCMethod(service: .access, name: "unlock_door")
    public var method: RPCMethod { Self.method }

    public var doorId: UUID
    public var personId: UUID
    public var channel: UnlockChannel
    /// The call during which the key was pressed.
    public var callId: UUID?
    /// The device the key was pressed on.
    public var deviceId: UUID?

    public init(doorId: UUID, personId: UUID, channel: UnlockChannel, callId: UUID? = nil, deviceId: UUID? = nil) {
        self.doorId = doorId
        self.personId = personId
        self.channel = channel
        self.callId = callId
        self.deviceId = deviceId
    }

    enum CodingKeys: String, CodingKey { case doorId, personId, channel, callId, deviceId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encode(self.channel, forKey: .channel)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encodeID(self.deviceId, forKey: .deviceId)
    }
}

/// signaling → access: whether a site is outside its call hours now (decision 0021), asked when a
/// door station's call is routed. Answers `not_found` for a site of another tenant.
public struct CallHoursLookup: GatehouseRequest {
    public typealias Response = CallHours
    public static let method = RPCMethod(service: .access, name: "call_hours")
    public var method: RPCMethod { Self.method }

    public var siteId: UUID

    public init(siteId: UUID) { self.siteId = siteId }

    enum CodingKeys: String, CodingKey { case siteId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.siteId, forKey: .siteId)
    }
}

/// A site's call hours as they apply now.
public struct CallHours: Codable, Sendable, Hashable {
    /// Outside the site's call hours (on its wall clock; its holidays count as outside unless a
    /// `hol` window says otherwise). Always `false` for a site without call hours.
    public var afterHours: Bool
    /// Whether the unit's residents ring after hours; `false` sends such calls straight to the
    /// fallbacks (an office building whose tenants have gone home).
    public var unitsRingAfterHours: Bool

    public init(afterHours: Bool, unitsRingAfterHours: Bool = true) {
        self.afterHours = afterHours
        self.unitsRingAfterHours = unitsRingAfterHours
    }
}

/// Why a granted door command did not open the door.
public enum DoorCommandFailure: String, Codable, Sendable, Hashable, CaseIterable {
    /// No answer within the command's deadline: abandoned, never sent again later.
    case timeout
    /// The station could not be reached (connection refused, no route, TLS failure).
    case unreachable
    /// The station refused our credentials.
    case unauthorized
    /// The station answered with an error.
    case rejected
    /// No door station with an HTTP API, or no controller configured for the door.
    case notConfigured
}

/// What became of an unlock request: the decision, and for a grant the door command's outcome.
public struct UnlockResult: Codable, Sendable, Hashable {
    public var granted: Bool
    public var reason: AccessReason
    /// The door command (granted requests only).
    public var commandId: UUID?
    /// Whether the door station confirmed the relay trigger.
    public var opened: Bool
    public var failure: DoorCommandFailure?

    public init(granted: Bool, reason: AccessReason, commandId: UUID? = nil, opened: Bool = false, failure: DoorCommandFailure? = nil) {
        self.granted = granted
        self.reason = reason
        self.commandId = commandId
        self.opened = opened
        self.failure = failure
    }

    enum CodingKeys: String, CodingKey { case granted, reason, commandId, opened, failure }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.granted, forKey: .granted)
        try container.encode(self.reason, forKey: .reason)
        try container.encodeID(self.commandId, forKey: .commandId)
        try container.encode(self.opened, forKey: .opened)
        try container.encodeIfPresent(self.failure, forKey: .failure)
    }
}

/// `io.gatehouse.access.decision_made.v1`: access control decided whether someone may open a door.
/// The event's context names the site, building, door, person and call.
public struct AccessDecisionMade: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "decision_made")

    public var doorId: UUID
    public var granted: Bool
    public var reason: AccessReason
    public var channel: UnlockChannel
    public var personId: UUID?
    public var callId: UUID?
    /// The visitor pass presented (PIN or QR code).
    public var passId: UUID?
    /// `true`: the door decided from its offline bundle while access was out of reach, and reported
    /// the decision when it reconnected (the event's `time` is when the door decided).
    public var offline: Bool?

    public init(
        doorId: UUID,
        granted: Bool,
        reason: AccessReason,
        channel: UnlockChannel,
        personId: UUID?,
        callId: UUID?,
        passId: UUID? = nil,
        offline: Bool? = nil
    ) {
        self.doorId = doorId
        self.granted = granted
        self.reason = reason
        self.channel = channel
        self.personId = personId
        self.callId = callId
        self.passId = passId
        self.offline = offline
    }

    enum CodingKeys: String, CodingKey { case doorId, granted, reason, channel, personId, callId, passId, offline }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encode(self.granted, forKey: .granted)
        try container.encode(self.reason, forKey: .reason)
        try container.encode(self.channel, forKey: .channel)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encodeID(self.passId, forKey: .passId)
        try container.encodeIfPresent(self.offline, forKey: .offline)
    }
}

/// What a door command was: which door, through which station and adapter, for whom.
public struct DoorCommandInfo: Codable, Sendable, Hashable {
    public var commandId: UUID
    public var doorId: UUID
    /// The door station told to open (absent when none is configured).
    public var stationDeviceId: UUID?
    /// `2n`, `akuvox`, `doorbird` or `webhook`.
    public var adapter: String?
    public var relay: Int?
    public var channel: UnlockChannel
    public var personId: UUID?
    public var callId: UUID?
    /// From the decision to the station's answer (or to giving up).
    public var elapsedMilliseconds: Int

    public init(
        commandId: UUID,
        doorId: UUID,
        stationDeviceId: UUID?,
        adapter: String?,
        relay: Int?,
        channel: UnlockChannel,
        personId: UUID?,
        callId: UUID?,
        elapsedMilliseconds: Int
    ) {
        self.commandId = commandId
        self.doorId = doorId
        self.stationDeviceId = stationDeviceId
        self.adapter = adapter
        self.relay = relay
        self.channel = channel
        self.personId = personId
        self.callId = callId
        self.elapsedMilliseconds = elapsedMilliseconds
    }

    enum CodingKeys: String, CodingKey {
        case commandId, doorId, stationDeviceId, adapter, relay, channel, personId, callId, elapsedMilliseconds
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.commandId, forKey: .commandId)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encodeID(self.stationDeviceId, forKey: .stationDeviceId)
        try container.encodeIfPresent(self.adapter, forKey: .adapter)
        try container.encodeIfPresent(self.relay, forKey: .relay)
        try container.encode(self.channel, forKey: .channel)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encode(self.elapsedMilliseconds, forKey: .elapsedMilliseconds)
    }
}

/// `io.gatehouse.access.door_unlocked.v1`: a door station confirmed that it triggered the relay.
public struct DoorUnlocked: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "door_unlocked")
    public var command: DoorCommandInfo
    public init(_ command: DoorCommandInfo) { self.command = command }
    public init(from decoder: any Decoder) throws { self.command = try DoorCommandInfo(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try self.command.encode(to: encoder) }
}

/// `io.gatehouse.access.door_command_failed.v1`: a granted door command did not open the door
/// within its deadline. It is abandoned, never sent later.
public struct DoorCommandFailed: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "door_command_failed")
    public var command: DoorCommandInfo
    public var failure: DoorCommandFailure
    /// The station's HTTP status, when it answered.
    public var httpStatus: Int?

    public init(_ command: DoorCommandInfo, failure: DoorCommandFailure, httpStatus: Int? = nil) {
        self.command = command
        self.failure = failure
        self.httpStatus = httpStatus
    }

    enum CodingKeys: String, CodingKey { case failure, httpStatus }

    public init(from decoder: any Decoder) throws {
        self.command = try DoorCommandInfo(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.failure = try container.decode(DoorCommandFailure.self, forKey: .failure)
        self.httpStatus = try container.decodeIfPresent(Int.self, forKey: .httpStatus)
    }

    public func encode(to encoder: any Encoder) throws {
        try self.command.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.failure, forKey: .failure)
        try container.encodeIfPresent(self.httpStatus, forKey: .httpStatus)
    }
}

/// A door → access: someone typed a PIN or showed a QR code at `doorId`. Access looks the credential
/// up, counts the use exactly once and, for a grant, opens the door; `source` (the station's device
/// id or address) scopes brute-force counting.
public struct PresentCredential: GatehouseRequest {
    public typealias Response = UnlockResult
    public static let method = RPCMethod(service: .access, name: "present_credential")
    public var method: RPCMethod { Self.method }

    public var doorId: UUID
    /// 4 to 12 digits.
    public var pin: String?
    /// A pass token (`GH1:…`).
    public var qr: String?
    public var card: CardRead?
    /// A licence plate as the camera read it (letters, digits, spaces and hyphens).
    public var plate: String?
    public var mobileKey: MobileKeyProof?
    public var face: FaceMatch?
    /// Who presents it (a device id or an address), at most 64 characters.
    public var source: String?

    public init(
        doorId: UUID,
        pin: String? = nil,
        qr: String? = nil,
        card: CardRead? = nil,
        plate: String? = nil,
        mobileKey: MobileKeyProof? = nil,
        face: FaceMatch? = nil,
        source: String? = nil
    ) {
        self.doorId = doorId
        self.pin = pin
        self.qr = qr
        self.card = card
        self.plate = plate
        self.mobileKey = mobileKey
        self.face = face
        self.source = source
    }

    /// How many credentials the request carries (exactly one is valid).
    public var credentialCount: Int {
        [self.pin != nil, self.qr != nil, self.card != nil, self.plate != nil, self.mobileKey != nil, self.face != nil].filter { $0 }.count
    }

    enum CodingKeys: String, CodingKey { case doorId, pin, qr, card, plate, mobileKey, face, source }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encodeIfPresent(self.pin, forKey: .pin)
        try container.encodeIfPresent(self.qr, forKey: .qr)
        try container.encodeIfPresent(self.card, forKey: .card)
        try container.encodeIfPresent(self.plate, forKey: .plate)
        try container.encodeIfPresent(self.mobileKey, forKey: .mobileKey)
        try container.encodeIfPresent(self.face, forKey: .face)
        try container.encodeIfPresent(self.source, forKey: .source)
    }
}

/// A card as the reader saw it: `wiegand26` / `wiegand34` as `"facility:number"` or as the raw
/// bit string with its parity bits, or `uid` as the card's hex UID (4, 7 or 10 bytes).
public struct CardRead: Codable, Sendable, Hashable {
    public var format: String
    public var value: String

    public init(format: String, value: String) {
        self.format = format
        self.value = value
    }
}

/// A phone's signed unlock request: ECDSA P-256 over
/// `GH-MK1\n{tenant}\n{door}\n{timestamp}\n{nonce}` with the key registered as `credentialId`.
public struct MobileKeyProof: Codable, Sendable, Hashable {
    public var credentialId: UUID
    /// Milliseconds since 1970 on the phone's clock; at most 30 s from access's.
    public var timestamp: Int64
    /// 16 random bytes, base64url without padding; never accepted twice.
    public var nonce: String
    /// The signature, base64 (DER or raw r‖s).
    public var signature: String

    public init(credentialId: UUID, timestamp: Int64, nonce: String, signature: String) {
        self.credentialId = credentialId
        self.timestamp = timestamp
        self.nonce = nonce
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey { case credentialId, timestamp, nonce, signature }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.credentialId, forKey: .credentialId)
        try container.encode(self.timestamp, forKey: .timestamp)
        try container.encode(self.nonce, forKey: .nonce)
        try container.encode(self.signature, forKey: .signature)
    }

    /// The bytes the phone signs.
    public static func message(tenant: TenantID, door: UUID, timestamp: Int64, nonce: String) -> [UInt8] {
        Array("GH-MK1\n\(tenant.rawValue.lowercasedString)\n\(door.lowercasedString)\n\(timestamp)\n\(nonce)".utf8)
    }
}

/// Inference matched a face at the door to a stored template.
public struct FaceMatch: Codable, Sendable, Hashable {
    /// Inference's id of the matched template (at most 64 characters).
    public var templateId: String

    public init(templateId: String) { self.templateId = templateId }
}

/// A visitor pass as events carry it: never its PIN or token.
public struct PassSummary: Codable, Sendable, Hashable {
    public var passId: UUID
    public var siteId: UUID
    public var hostPersonId: UUID
    /// `guest`, `contractor` or `courier`.
    public var kind: String
    public var doorIds: [UUID]
    public var validFrom: Date
    public var validUntil: Date
    public var maxUses: Int?

    public init(passId: UUID, siteId: UUID, hostPersonId: UUID, kind: String, doorIds: [UUID], validFrom: Date, validUntil: Date, maxUses: Int?) {
        self.passId = passId
        self.siteId = siteId
        self.hostPersonId = hostPersonId
        self.kind = kind
        self.doorIds = doorIds
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.maxUses = maxUses
    }

    enum CodingKeys: String, CodingKey { case passId, siteId, hostPersonId, kind, doorIds, validFrom, validUntil, maxUses }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.passId, forKey: .passId)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encodeID(self.hostPersonId, forKey: .hostPersonId)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.doorIds.map(\.lowercasedString), forKey: .doorIds)
        try container.encode(self.validFrom, forKey: .validFrom)
        try container.encode(self.validUntil, forKey: .validUntil)
        try container.encodeIfPresent(self.maxUses, forKey: .maxUses)
    }
}

/// `io.gatehouse.access.pass_created.v1`: a resident or staff member created a visitor pass.
public struct PassCreated: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "pass_created")
    public var pass: PassSummary
    public init(_ pass: PassSummary) { self.pass = pass }
    public init(from decoder: any Decoder) throws { self.pass = try PassSummary(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try self.pass.encode(to: encoder) }
}

/// `io.gatehouse.access.pass_revoked.v1`: a pass was revoked; it opens nothing from now on.
public struct PassRevoked: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "pass_revoked")
    public var passId: UUID
    public init(passId: UUID) { self.passId = passId }

    enum CodingKeys: String, CodingKey { case passId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.passId, forKey: .passId)
    }
}

/// `io.gatehouse.access.bruteforce_suspected.v1`: too many wrong credentials at a door (or from one
/// source); the door refuses everything with `rateLimited` for `blockedSeconds`.
public struct BruteForceSuspected: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "bruteforce_suspected")
    public var doorId: UUID
    /// `door` or `source`: what was counted.
    public var scope: String
    public var failures: Int
    public var blockedSeconds: Int

    public init(doorId: UUID, scope: String, failures: Int, blockedSeconds: Int) {
        self.doorId = doorId
        self.scope = scope
        self.failures = failures
        self.blockedSeconds = blockedSeconds
    }

    enum CodingKeys: String, CodingKey { case doorId, scope, failures, blockedSeconds }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encode(self.scope, forKey: .scope)
        try container.encode(self.failures, forKey: .failures)
        try container.encode(self.blockedSeconds, forKey: .blockedSeconds)
    }
}

/// `io.gatehouse.access.lockdown_changed.v1`: a site went into lockdown (only staff and
/// administrators open its doors) or out of it; `personid` names who did it.
public struct LockdownChanged: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "lockdown_changed")
    public var siteId: UUID
    public var lockdown: Bool

    public init(siteId: UUID, lockdown: Bool) {
        self.siteId = siteId
        self.lockdown = lockdown
    }

    enum CodingKeys: String, CodingKey { case siteId, lockdown }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encode(self.lockdown, forKey: .lockdown)
    }
}

/// A person's credential (card, plate, mobile key, face template or PIN) as events carry it:
/// never its value.
public struct CredentialSummary: Codable, Sendable, Hashable {
    public var credentialId: UUID
    public var personId: UUID
    /// `card`, `plate`, `mobileKey`, `face` or `pin`.
    public var kind: String

    public init(credentialId: UUID, personId: UUID, kind: String) {
        self.credentialId = credentialId
        self.personId = personId
        self.kind = kind
    }

    enum CodingKeys: String, CodingKey { case credentialId, personId, kind }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.credentialId, forKey: .credentialId)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encode(self.kind, forKey: .kind)
    }
}

/// `io.gatehouse.access.credential_issued.v1`: a person got a credential.
public struct CredentialIssued: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "credential_issued")
    public var credential: CredentialSummary

    public init(_ credential: CredentialSummary) { self.credential = credential }

    public init(from decoder: any Decoder) throws { self.credential = try CredentialSummary(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try self.credential.encode(to: encoder) }
}

/// `io.gatehouse.access.credential_revoked.v1`: a credential stopped opening anything.
public struct CredentialRevoked: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "credential_revoked")
    public var credential: CredentialSummary

    public init(_ credential: CredentialSummary) { self.credential = credential }

    public init(from decoder: any Decoder) throws { self.credential = try CredentialSummary(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try self.credential.encode(to: encoder) }
}

/// `io.gatehouse.access.consent_changed.v1`: a person's consent to biometric (face) entry was
/// recorded or withdrawn; `personid` in the envelope names who recorded it.
public struct ConsentChanged: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "consent_changed")
    public var personId: UUID
    public var consent: Bool

    public init(personId: UUID, consent: Bool) {
        self.personId = personId
        self.consent = consent
    }

    enum CodingKeys: String, CodingKey { case personId, consent }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encode(self.consent, forKey: .consent)
    }
}

/// `io.gatehouse.access.policy_changed.v1`: an access policy of a site changed: an access group or
/// its members, the holiday calendar, a door's hours or free-access windows, or a door exception.
public struct PolicyChanged: GatehouseEventData {
    public static let eventType = EventType(domain: "access", name: "policy_changed")
    public var siteId: UUID
    /// `group`, `membership`, `holidays`, `doorPolicy` or `exception`.
    public var object: String
    public var objectId: UUID?
    /// `created`, `updated` or `deleted`.
    public var action: String

    public init(siteId: UUID, object: String, objectId: UUID?, action: String) {
        self.siteId = siteId
        self.object = object
        self.objectId = objectId
        self.action = action
    }

    enum CodingKeys: String, CodingKey { case siteId, object, objectId, action }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encode(self.object, forKey: .object)
        try container.encodeID(self.objectId, forKey: .objectId)
        try container.encode(self.action, forKey: .action)
    }
}
