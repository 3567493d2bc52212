public import Foundation

/// A tenant's identifier: a UUID, written lower-case on the wire and in subjects.
///
/// ``operator`` (the nil UUID) is the deployment itself: events about the platform, not about a
/// customer, are published under it and no integrator can be scoped to it.
public struct TenantID: Hashable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public var rawValue: UUID

    public init(_ rawValue: UUID) { self.rawValue = rawValue }

    public init?(_ description: String) {
        guard let uuid = UUID(uuidString: description) else { return nil }
        self.rawValue = uuid
    }

    /// The operator scope: platform events that belong to no customer.
    public static let `operator` = TenantID(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))

    public var description: String { self.rawValue.lowercasedString }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = TenantID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "tenant id is not a UUID")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}

/// The name of a Gatehouse service, as used in subjects, event sources and metrics.
public struct ServiceName: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let signaling: ServiceName = "signaling"
    public static let mediaRelay: ServiceName = "media-relay"
    public static let identity: ServiceName = "identity"
    public static let access: ServiceName = "access"
    public static let inference: ServiceName = "inference"
    public static let audit: ServiceName = "audit"

    /// The six services, in start-up order.
    public static let all: [ServiceName] = [.identity, .access, .signaling, .mediaRelay, .inference, .audit]

    public var description: String { self.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}

extension UUID {
    /// `8-4-4-4-12` lower-case hex, as the wire writes UUIDs (without Foundation's formatter).
    public var lowercasedString: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        withUnsafeBytes(of: self.uuid) { bytes in
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { position += 1 }
                text[position] = digits[Int(byte >> 4)]
                text[position + 1] = digits[Int(byte & 0x0F)]
                position += 2
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
