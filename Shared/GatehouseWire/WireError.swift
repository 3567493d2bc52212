/// An error that crosses the wire in a reply. Compare on ``code``.
///
/// Codes are stable strings: clients branch on them, so one is never renamed or reused.
public struct WireError: Error, Codable, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The request could not be decoded or failed validation.
        public static let invalidRequest = Code(rawValue: "invalid_request")
        /// The thing asked for does not exist (or belongs to another tenant).
        public static let notFound = Code(rawValue: "not_found")
        /// The caller may not do this.
        public static let permissionDenied = Code(rawValue: "permission_denied")
        /// The caller is not authenticated.
        public static let unauthenticated = Code(rawValue: "unauthenticated")
        /// The request conflicts with the current state (a duplicate, a stale version).
        public static let conflict = Code(rawValue: "conflict")
        /// Too many requests; retry later.
        public static let rateLimited = Code(rawValue: "rate_limited")
        /// A dependency is down or the service is shutting down; retry later.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The work did not finish before its deadline.
        public static let deadlineExceeded = Code(rawValue: "deadline_exceeded")
        /// The method does not exist on this service (version skew).
        public static let unimplemented = Code(rawValue: "unimplemented")
        /// A bug: the detail is in the responder's log, not in the reply.
        public static let `internal` = Code(rawValue: "internal")

        public var description: String { self.rawValue }

        public init(from decoder: any Decoder) throws {
            self.rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(self.rawValue)
        }
    }

    public var code: Code
    /// For people: what went wrong. Never holds secrets or personal data.
    public var message: String
    /// Field-level details, e.g. `["field": "unit", "reason": "must not be empty"]`.
    public var details: [String: String]?

    public init(code: Code, message: String, details: [String: String]? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "WireError.\(self.code): \(self.message)" }

    public static func == (lhs: WireError, rhs: WireError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

/// An error that knows which ``WireError`` to send back. Anything else becomes `internal`.
public protocol WireErrorConvertible: Error {
    var wireError: WireError { get }
}

extension WireError: WireErrorConvertible {
    public var wireError: WireError { self }
}
