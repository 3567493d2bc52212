/// An error thrown by ServiceKit. Compare on ``code``; the message is diagnostics.
public struct GatehouseError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration, migrationFailed, decodingFailed, notReady
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A configuration value is missing or out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A database migration failed; nothing after it was applied.
        public static let migrationFailed = Code(.migrationFailed)
        /// A message on the bus could not be decoded as the expected wire type.
        public static let decodingFailed = Code(.decodingFailed)
        /// A dependency (NATS, PostgreSQL) is not reachable yet.
        public static let notReady = Code(.notReady)

        public var description: String { self.base.rawValue }
    }

    public let code: Code
    public let message: String
    private let location: String

    private init(code: Code, message: String, file: String, line: UInt) {
        self.code = code
        self.message = message
        self.location = "\(file):\(line)"
    }

    public var description: String { "GatehouseError.\(self.code): \(self.message) (\(self.location))" }

    public static func == (lhs: GatehouseError, rhs: GatehouseError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    public static func invalidConfiguration(_ message: String, file: String = #fileID, line: UInt = #line) -> Self {
        .init(code: .invalidConfiguration, message: message, file: file, line: line)
    }

    public static func migrationFailed(_ message: String, file: String = #fileID, line: UInt = #line) -> Self {
        .init(code: .migrationFailed, message: message, file: file, line: line)
    }

    public static func decodingFailed(_ message: String, file: String = #fileID, line: UInt = #line) -> Self {
        .init(code: .decodingFailed, message: message, file: file, line: line)
    }

    public static func notReady(_ message: String, file: String = #fileID, line: UInt = #line) -> Self {
        .init(code: .notReady, message: message, file: file, line: line)
    }
}
