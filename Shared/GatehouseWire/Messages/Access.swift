public import Foundation

// Access control's requests and events (docs/events.md): who may open which door, and what
// happened when a door was told to open.

/// Why a door was or was not opened: a fixed vocabulary modelled on 2N's access log. Integrators
/// and support staff read these names; a new reason is a new case, never a renamed one.
public enum AccessReason: String, Codable, Sendable, Hashable, CaseIterable {
    // Granted.
    /// A resident of a unit the door serves (a door of their building, or a door the site shares).
    case resident
    /// Staff whose buildings or sites include the door.
    case staff
    /// A tenant or operator administrator.
    case administrator
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

    public var grants: Bool { self == .resident || self == .staff || self == .administrator }
}

/// Where an unlock request came from.
public enum UnlockChannel: String, Codable, Sendable, Hashable, CaseIterable {
    /// A resident pressed the door-open key during a call from the door (signaling).
    case call
    /// Staff or a resident through the admin HTTP API or the resident app.
    case api
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

    public init(doorId: UUID, granted: Bool, reason: AccessReason, channel: UnlockChannel, personId: UUID?, callId: UUID?) {
        self.doorId = doorId
        self.granted = granted
        self.reason = reason
        self.channel = channel
        self.personId = personId
        self.callId = callId
    }

    enum CodingKeys: String, CodingKey { case doorId, granted, reason, channel, personId, callId }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.doorId, forKey: .doorId)
        try container.encode(self.granted, forKey: .granted)
        try container.encode(self.reason, forKey: .reason)
        try container.encode(self.channel, forKey: .channel)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encodeID(self.callId, forKey: .callId)
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
