/// An error thrown by GatehouseNATS. Compare on ``code``; the message is diagnostics.
public struct NATSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, comparable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case timeout
            case noResponders
            case notConnected
            case connectionClosed
            case invalidArgument
            case jetStream
            case library
            case cancelled
            case notFound
            case wrongLastSequence
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The operation did not complete before its deadline.
        public static let timeout = Code(.timeout)
        /// A request was published but no subscriber listens on its subject.
        public static let noResponders = Code(.noResponders)
        /// The client is not (yet) connected.
        public static let notConnected = Code(.notConnected)
        /// The client was shut down or its connection closed for good.
        public static let connectionClosed = Code(.connectionClosed)
        /// The caller passed something the client or server cannot accept.
        public static let invalidArgument = Code(.invalidArgument)
        /// The JetStream API answered with an error.
        public static let jetStream = Code(.jetStream)
        /// The C library reported an error not covered by another code.
        public static let library = Code(.library)
        /// The waiting task was cancelled.
        public static let cancelled = Code(.cancelled)
        /// A stream, consumer, bucket or key does not exist.
        public static let notFound = Code(.notFound)
        /// An optimistic-concurrency write lost (KV update with a stale revision).
        public static let wrongLastSequence = Code(.wrongLastSequence)

        public var description: String { self.base.rawValue }
    }

    /// What went wrong, in a stable form.
    public let code: Code
    /// Human-readable detail; never contains payloads or credentials.
    public let message: String
    /// The JetStream API error code (`err_code`) when the server sent one.
    public let jetStreamErrorCode: Int?

    package init(code: Code, message: String, jetStreamErrorCode: Int? = nil) {
        self.code = code
        self.message = message
        self.jetStreamErrorCode = jetStreamErrorCode
    }

    public var description: String { "NATSError.\(self.code): \(self.message)" }

    /// Errors compare equal when their codes do, so tests can match `NATSError.timeout(...)` easily.
    public static func == (lhs: NATSError, rhs: NATSError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    package static func timeout(_ message: String) -> NATSError { .init(code: .timeout, message: message) }
    package static func noResponders(_ subject: String) -> NATSError {
        .init(code: .noResponders, message: "no responders on \(subject)")
    }
    package static func closed(_ message: String = "connection closed") -> NATSError {
        .init(code: .connectionClosed, message: message)
    }
    package static func invalid(_ message: String) -> NATSError { .init(code: .invalidArgument, message: message) }
}
