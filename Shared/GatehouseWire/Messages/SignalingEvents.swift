public import Foundation

// Signaling's device events (docs/events.md): a device came online by registering, went offline by
// de-registering, or went offline because its last registration expired. They carry no address
// and nothing about the device's user; support staff read current registrations through
// signaling's admin API.

/// What a registration event says about one device.
public struct DeviceRegistration: Codable, Sendable, Hashable {
    public var deviceId: UUID
    public var siteId: UUID
    public var kind: DeviceKind
    /// The transport of the registration that changed: UDP, TCP, TLS, WS or WSS.
    public var transport: String
    /// How many registrations (contacts) the device has after the change.
    public var bindings: Int
    /// The device's User-Agent, at most 128 characters.
    public var userAgent: String?
    /// When the registration that changed runs out (absent once it is gone).
    public var expiresAt: Date?

    public init(
        deviceId: UUID,
        siteId: UUID,
        kind: DeviceKind,
        transport: String,
        bindings: Int,
        userAgent: String?,
        expiresAt: Date?
    ) {
        self.deviceId = deviceId
        self.siteId = siteId
        self.kind = kind
        self.transport = transport
        self.bindings = bindings
        self.userAgent = userAgent
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey { case deviceId, siteId, kind, transport, bindings, userAgent, expiresAt }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.deviceId, forKey: .deviceId)
        try container.encodeID(self.siteId, forKey: .siteId)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.transport, forKey: .transport)
        try container.encode(self.bindings, forKey: .bindings)
        try container.encodeIfPresent(self.userAgent, forKey: .userAgent)
        try container.encodeIfPresent(self.expiresAt, forKey: .expiresAt)
    }
}

/// A change of a device's registration state.
public protocol DeviceRegistrationEvent: GatehouseEventData {
    var registration: DeviceRegistration { get }
    init(_ registration: DeviceRegistration)
    /// Whether the device is reachable after this event.
    static var online: Bool { get }
}

extension DeviceRegistrationEvent {
    public init(from decoder: any Decoder) throws { self.init(try DeviceRegistration(from: decoder)) }
    public func encode(to encoder: any Encoder) throws { try self.registration.encode(to: encoder) }
}

/// `io.gatehouse.signaling.device_registered.v1`: a device without registrations registered.
public struct DeviceRegistered: DeviceRegistrationEvent {
    public static let eventType = EventType(domain: "signaling", name: "device_registered")
    public static let online = true
    public var registration: DeviceRegistration
    public init(_ registration: DeviceRegistration) { self.registration = registration }
}

/// `io.gatehouse.signaling.device_unregistered.v1`: a device removed its last registration.
public struct DeviceUnregistered: DeviceRegistrationEvent {
    public static let eventType = EventType(domain: "signaling", name: "device_unregistered")
    public static let online = false
    public var registration: DeviceRegistration
    public init(_ registration: DeviceRegistration) { self.registration = registration }
}

/// `io.gatehouse.signaling.device_expired.v1`: a device's last registration ran out unrefreshed.
public struct DeviceExpired: DeviceRegistrationEvent {
    public static let eventType = EventType(domain: "signaling", name: "device_expired")
    public static let online = false
    public var registration: DeviceRegistration
    public init(_ registration: DeviceRegistration) { self.registration = registration }
}

// MARK: - Calls

/// Why a call ended.
public enum CallEndReason: String, Codable, Sendable, Hashable, CaseIterable {
    /// Answered, then one side hung up.
    case completed
    /// The caller gave up before anyone answered.
    case cancelled
    /// Every step rang out or was busy, or nobody was registered.
    case unanswered
    /// The dialled number does not exist at the caller's site.
    case notFound = "not_found"
}

/// Why a call moved on to the next step of its ring plan.
public enum CallFallbackReason: String, Codable, Sendable, Hashable, CaseIterable {
    /// Nobody answered within the step's ring time.
    case noAnswer = "no_answer"
    /// Every device of the step declined or was busy.
    case busy
    /// No device of the step was registered.
    case unreachable
    /// The step does not ring at this time: a fallback for the other side of the site's call
    /// hours, or the unit's residents after hours at a site that skips them (decision 0021).
    case outsideHours = "outside_hours"
}

/// `io.gatehouse.signaling.call_started.v1`: a door station's call was accepted for routing.
public struct CallStarted: GatehouseEventData {
    public static let eventType = EventType(domain: "signaling", name: "call_started")
    public var callId: UUID
    public var callerDeviceId: UUID
    public var dialled: String

    public init(callId: UUID, callerDeviceId: UUID, dialled: String) {
        self.callId = callId
        self.callerDeviceId = callerDeviceId
        self.dialled = dialled
    }

    enum CodingKeys: String, CodingKey { case callId, callerDeviceId, dialled }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encodeID(self.callerDeviceId, forKey: .callerDeviceId)
        try container.encode(self.dialled, forKey: .dialled)
    }
}

/// `io.gatehouse.signaling.call_ringing.v1`: a step of the ring plan rings `devices` devices.
public struct CallRinging: GatehouseEventData {
    public static let eventType = EventType(domain: "signaling", name: "call_ringing")
    public var callId: UUID
    /// The step's position in the plan, from 0, and its kind (`unit`, `staff`, `external`).
    public var step: Int
    public var stepKind: RingStep.Kind
    public var devices: Int

    public init(callId: UUID, step: Int, stepKind: RingStep.Kind, devices: Int) {
        self.callId = callId
        self.step = step
        self.stepKind = stepKind
        self.devices = devices
    }

    enum CodingKeys: String, CodingKey { case callId, step, stepKind, devices }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encode(self.step, forKey: .step)
        try container.encode(self.stepKind, forKey: .stepKind)
        try container.encode(self.devices, forKey: .devices)
    }
}

/// `io.gatehouse.signaling.call_answered.v1`: a device answered; the event's `personid` names
/// whose device it was, when it belongs to a person.
public struct CallAnswered: GatehouseEventData {
    public static let eventType = EventType(domain: "signaling", name: "call_answered")
    public var callId: UUID
    public var deviceId: UUID
    public var personId: UUID?
    public var step: Int

    public init(callId: UUID, deviceId: UUID, personId: UUID?, step: Int) {
        self.callId = callId
        self.deviceId = deviceId
        self.personId = personId
        self.step = step
    }

    enum CodingKeys: String, CodingKey { case callId, deviceId, personId, step }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encodeID(self.deviceId, forKey: .deviceId)
        try container.encodeID(self.personId, forKey: .personId)
        try container.encode(self.step, forKey: .step)
    }
}

/// `io.gatehouse.signaling.call_answered_externally.v1`: an external number of the ring plan,
/// called through the site's outbound trunk, answered (no device or person of Gatehouse did).
public struct CallAnsweredExternally: GatehouseEventData {
    public static let eventType = EventType(domain: "signaling", name: "call_answered_externally")
    public var callId: UUID
    /// The E.164 number that answered, as the ring plan names it.
    public var number: String
    public var step: Int

    public init(callId: UUID, number: String, step: Int) {
        self.callId = callId
        self.number = number
        self.step = step
    }

    enum CodingKeys: String, CodingKey { case callId, number, step }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encode(self.number, forKey: .number)
        try container.encode(self.step, forKey: .step)
    }
}

/// `io.gatehouse.signaling.call_fallback.v1`: the call moved on to the next step.
public struct CallFallback: GatehouseEventData {
    public static let eventType = EventType(domain: "signaling", name: "call_fallback")
    public var callId: UUID
    public var fromStep: Int
    public var toStep: Int
    public var reason: CallFallbackReason

    public init(callId: UUID, fromStep: Int, toStep: Int, reason: CallFallbackReason) {
        self.callId = callId
        self.fromStep = fromStep
        self.toStep = toStep
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case callId, fromStep, toStep, reason }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encode(self.fromStep, forKey: .fromStep)
        try container.encode(self.toStep, forKey: .toStep)
        try container.encode(self.reason, forKey: .reason)
    }
}

/// `io.gatehouse.signaling.call_ended.v1`: the call is over; `status` is the final SIP status the
/// caller got when it was never answered, `durationSeconds` the talk time when it was.
public struct CallEnded: GatehouseEventData {
    public static let eventType = EventType(domain: "signaling", name: "call_ended")
    public var callId: UUID
    public var reason: CallEndReason
    public var status: Int?
    public var durationSeconds: Double?

    public init(callId: UUID, reason: CallEndReason, status: Int?, durationSeconds: Double?) {
        self.callId = callId
        self.reason = reason
        self.status = status
        self.durationSeconds = durationSeconds
    }

    enum CodingKeys: String, CodingKey { case callId, reason, status, durationSeconds }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeID(self.callId, forKey: .callId)
        try container.encode(self.reason, forKey: .reason)
        try container.encodeIfPresent(self.status, forKey: .status)
        try container.encodeIfPresent(self.durationSeconds, forKey: .durationSeconds)
    }
}
