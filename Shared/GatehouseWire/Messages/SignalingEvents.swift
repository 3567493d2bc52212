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
