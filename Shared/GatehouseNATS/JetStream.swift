internal import CNats
import Foundation
import Synchronization

/// JetStream over a ``NATSClient``: publishing with de-duplication and an awaited ack, stream and
/// consumer management through the JetStream JSON API, durable pull consumers and key-value buckets.
public struct JetStream: Sendable {
    let client: NATSClient

    /// The server's acknowledgement of a stored message.
    public struct PublishAck: Sendable, Hashable, Decodable {
        public var stream: String
        public var sequence: UInt64
        /// True when the message id was seen within the stream's duplicate window: nothing was stored.
        public var duplicate: Bool

        enum CodingKeys: String, CodingKey {
            case stream
            case sequence = "seq"
            case duplicate
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.stream = try container.decode(String.self, forKey: .stream)
            self.sequence = try container.decode(UInt64.self, forKey: .sequence)
            self.duplicate = try container.decodeIfPresent(Bool.self, forKey: .duplicate) ?? false
        }
    }

    /// Publishes to a subject captured by a stream and waits for the stream's ack.
    ///
    /// - Parameter messageID: stored as `Nats-Msg-Id`; a second publish with the same id inside the
    ///   stream's duplicate window is acknowledged with `duplicate == true` and not stored again.
    public func publish(
        _ payload: [UInt8],
        to subject: String,
        messageID: String? = nil,
        headers: NATSHeaders = NATSHeaders(),
        timeout: Duration = .seconds(5)
    ) async throws -> PublishAck {
        var headers = headers
        if let messageID { headers[NATSHeaders.messageID] = messageID }
        let reply: NATSMessage
        do {
            reply = try await self.client.request(payload, to: subject, headers: headers, timeout: timeout)
        } catch let error as NATSError where error.code == .noResponders {
            throw NATSError(code: .jetStream, message: "no stream captures \(subject)")
        }
        return try APIResponse<PublishAck>.decode(reply.payload, operation: "publish to \(subject)")
    }

    /// Publishes several messages in order, pipelined (each still acknowledged by the stream);
    /// throws when any is not stored. Message ids make a retry of the whole batch harmless.
    public func publishBatch(
        _ messages: [(payload: [UInt8], subject: String, messageID: String, headers: NATSHeaders)],
        timeout: Duration = .seconds(5)
    ) async throws -> [PublishAck] {
        let requests = messages.map { message in
            var headers = message.headers
            headers[NATSHeaders.messageID] = message.messageID
            return (payload: message.payload, subject: message.subject, headers: headers)
        }
        let replies: [NATSMessage]
        do {
            replies = try await self.client.requestBatch(requests, timeout: timeout)
        } catch let error as NATSError where error.code == .noResponders {
            throw NATSError(code: .jetStream, message: "no stream captures one of the subjects")
        }
        return try zip(replies, messages).map { reply, message in
            try APIResponse<PublishAck>.decode(reply.payload, operation: "publish to \(message.subject)")
        }
    }

    // MARK: Streams

    /// Creates the stream, or updates it when it exists with another configuration.
    @discardableResult
    public func ensureStream(_ configuration: StreamConfiguration, timeout: Duration = .seconds(5)) async throws -> StreamInfo {
        let body = try JSONEncoder().encode(configuration)
        do {
            return try await self.api("STREAM.CREATE.\(configuration.name)", body: body, timeout: timeout)
        } catch let error as NATSError where error.jetStreamErrorCode == 10058 {
            return try await self.api("STREAM.UPDATE.\(configuration.name)", body: body, timeout: timeout)
        }
    }

    /// The stream's configuration and state; throws ``NATSError/Code/notFound`` when it does not exist.
    public func streamInfo(_ name: String, timeout: Duration = .seconds(5)) async throws -> StreamInfo {
        try await self.api("STREAM.INFO.\(name)", body: Data(), timeout: timeout)
    }

    public func deleteStream(_ name: String, timeout: Duration = .seconds(5)) async throws {
        let _: SuccessResponse = try await self.api("STREAM.DELETE.\(name)", body: Data(), timeout: timeout)
    }

    /// Creates a durable consumer (idempotent for an identical configuration).
    public func ensureConsumer(
        stream: String,
        _ configuration: ConsumerConfiguration,
        timeout: Duration = .seconds(5)
    ) async throws {
        struct Request: Encodable {
            var stream_name: String
            var config: ConsumerConfiguration
        }
        let body = try JSONEncoder().encode(Request(stream_name: stream, config: configuration))
        let _: ConsumerInfo = try await self.api(
            "CONSUMER.DURABLE.CREATE.\(stream).\(configuration.durableName)",
            body: body,
            timeout: timeout
        )
    }

    /// Deletes a durable consumer (its position and pending acks are lost).
    public func deleteConsumer(stream: String, consumer: String, timeout: Duration = .seconds(5)) async throws {
        let _: SuccessResponse = try await self.api("CONSUMER.DELETE.\(stream).\(consumer)", body: Data(), timeout: timeout)
    }

    /// Numbers of a consumer: what is pending, what is waiting for an ack.
    public func consumerInfo(stream: String, consumer: String, timeout: Duration = .seconds(5)) async throws -> ConsumerInfo {
        try await self.api("CONSUMER.INFO.\(stream).\(consumer)", body: Data(), timeout: timeout)
    }

    private func api<R: Decodable>(_ path: String, body: Data, timeout: Duration) async throws -> R {
        let reply: NATSMessage
        do {
            reply = try await self.client.request(Array(body), to: "$JS.API.\(path)", timeout: timeout)
        } catch let error as NATSError where error.code == .noResponders {
            throw NATSError(code: .jetStream, message: "JetStream is not enabled on the server")
        }
        return try APIResponse<R>.decode(reply.payload, operation: path)
    }

    // MARK: Pull consumers

    /// Binds to an existing durable pull consumer (see ``ensureConsumer(stream:_:timeout:)``).
    public func pullConsumer(stream: String, durable: String) async throws -> PullConsumer {
        let handle = try await self.client.connection()
        return try await BlockingExecutor.run { try PullConsumer(handle: handle, stream: stream, durable: durable) }
    }

    // MARK: Key-value

    /// Creates a key-value bucket (idempotent for an identical configuration) and opens it.
    public func createKeyValue(_ configuration: KeyValueConfiguration) async throws -> KeyValueStore {
        let handle = try await self.client.connection()
        return try await BlockingExecutor.run { try KeyValueStore(handle: handle, creating: configuration) }
    }

    /// Opens an existing bucket; throws ``NATSError/Code/notFound`` when it does not exist.
    public func keyValue(_ bucket: String) async throws -> KeyValueStore {
        let handle = try await self.client.connection()
        return try await BlockingExecutor.run { try KeyValueStore(handle: handle, bucket: bucket) }
    }
}

// MARK: - Configuration types (JetStream JSON API field names)

/// A stream's configuration. Durations are sent in nanoseconds, as the JetStream API expects.
public struct StreamConfiguration: Sendable, Hashable, Codable {
    public enum Storage: String, Sendable, Codable { case file, memory }

    public var name: String
    public var subjects: [String]
    public var storage: Storage
    /// Messages with the same `Nats-Msg-Id` inside this window are stored once.
    public var duplicateWindow: Duration
    /// Oldest message kept; `nil` keeps forever.
    public var maxAge: Duration?
    public var maxBytes: Int64
    public var maxMessageSize: Int32
    public var replicas: Int
    public var denyDelete: Bool
    public var denyPurge: Bool

    public init(
        name: String,
        subjects: [String],
        storage: Storage = .file,
        duplicateWindow: Duration = .seconds(120),
        maxAge: Duration? = nil,
        maxBytes: Int64 = -1,
        maxMessageSize: Int32 = -1,
        replicas: Int = 1,
        denyDelete: Bool = false,
        denyPurge: Bool = false
    ) {
        self.name = name
        self.subjects = subjects
        self.storage = storage
        self.duplicateWindow = duplicateWindow
        self.maxAge = maxAge
        self.maxBytes = maxBytes
        self.maxMessageSize = maxMessageSize
        self.replicas = replicas
        self.denyDelete = denyDelete
        self.denyPurge = denyPurge
    }

    enum CodingKeys: String, CodingKey {
        case name, subjects, storage, retention, discard
        case duplicateWindow = "duplicate_window"
        case maxAge = "max_age"
        case maxBytes = "max_bytes"
        case maxMessageSize = "max_msg_size"
        case replicas = "num_replicas"
        case denyDelete = "deny_delete"
        case denyPurge = "deny_purge"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.subjects, forKey: .subjects)
        try container.encode(self.storage, forKey: .storage)
        try container.encode("limits", forKey: .retention)
        try container.encode("old", forKey: .discard)
        try container.encode(self.duplicateWindow.nanoseconds, forKey: .duplicateWindow)
        try container.encode(self.maxAge?.nanoseconds ?? 0, forKey: .maxAge)
        try container.encode(self.maxBytes, forKey: .maxBytes)
        try container.encode(self.maxMessageSize, forKey: .maxMessageSize)
        try container.encode(self.replicas, forKey: .replicas)
        try container.encode(self.denyDelete, forKey: .denyDelete)
        try container.encode(self.denyPurge, forKey: .denyPurge)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        self.subjects = try container.decodeIfPresent([String].self, forKey: .subjects) ?? []
        self.storage = try container.decodeIfPresent(Storage.self, forKey: .storage) ?? .file
        self.duplicateWindow = .nanoseconds(try container.decodeIfPresent(Int64.self, forKey: .duplicateWindow) ?? 0)
        let maxAge = try container.decodeIfPresent(Int64.self, forKey: .maxAge) ?? 0
        self.maxAge = maxAge == 0 ? nil : .nanoseconds(maxAge)
        self.maxBytes = try container.decodeIfPresent(Int64.self, forKey: .maxBytes) ?? -1
        self.maxMessageSize = try container.decodeIfPresent(Int32.self, forKey: .maxMessageSize) ?? -1
        self.replicas = try container.decodeIfPresent(Int.self, forKey: .replicas) ?? 1
        self.denyDelete = try container.decodeIfPresent(Bool.self, forKey: .denyDelete) ?? false
        self.denyPurge = try container.decodeIfPresent(Bool.self, forKey: .denyPurge) ?? false
    }
}

/// A stream's configuration and state as the server reports them.
public struct StreamInfo: Sendable, Decodable {
    public struct State: Sendable, Decodable {
        public var messages: UInt64
        public var bytes: UInt64
        public var firstSequence: UInt64
        public var lastSequence: UInt64

        enum CodingKeys: String, CodingKey {
            case messages, bytes
            case firstSequence = "first_seq"
            case lastSequence = "last_seq"
        }
    }

    public var config: StreamConfiguration
    public var state: State
}

/// A durable pull consumer's configuration.
public struct ConsumerConfiguration: Sendable, Hashable, Encodable {
    public enum DeliverPolicy: String, Sendable, Encodable { case all, new, last }

    public var durableName: String
    public var filterSubject: String?
    public var deliverPolicy: DeliverPolicy
    /// Time the server waits for an ack before redelivering.
    public var ackWait: Duration
    /// Deliveries before the server gives up on a message; `-1` means no limit.
    public var maxDeliver: Int
    /// Messages delivered but not yet acknowledged, at most.
    public var maxAckPending: Int

    public init(
        durableName: String,
        filterSubject: String? = nil,
        deliverPolicy: DeliverPolicy = .all,
        ackWait: Duration = .seconds(30),
        maxDeliver: Int = -1,
        maxAckPending: Int = 20_000
    ) {
        self.durableName = durableName
        self.filterSubject = filterSubject
        self.deliverPolicy = deliverPolicy
        self.ackWait = ackWait
        self.maxDeliver = maxDeliver
        self.maxAckPending = maxAckPending
    }

    enum CodingKeys: String, CodingKey {
        case durableName = "durable_name"
        case filterSubject = "filter_subject"
        case deliverPolicy = "deliver_policy"
        case ackPolicy = "ack_policy"
        case ackWait = "ack_wait"
        case maxDeliver = "max_deliver"
        case maxAckPending = "max_ack_pending"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.durableName, forKey: .durableName)
        try container.encodeIfPresent(self.filterSubject, forKey: .filterSubject)
        try container.encode(self.deliverPolicy, forKey: .deliverPolicy)
        try container.encode("explicit", forKey: .ackPolicy)
        try container.encode(self.ackWait.nanoseconds, forKey: .ackWait)
        try container.encode(self.maxDeliver, forKey: .maxDeliver)
        try container.encode(self.maxAckPending, forKey: .maxAckPending)
    }
}

/// A consumer's state as the server reports it.
public struct ConsumerInfo: Sendable, Decodable {
    /// Messages in the stream not yet delivered to this consumer.
    public var pending: UInt64
    /// Messages delivered and waiting for an ack.
    public var ackPending: UInt64

    enum CodingKeys: String, CodingKey {
        case pending = "num_pending"
        case ackPending = "num_ack_pending"
    }
}

private struct SuccessResponse: Decodable {}

/// `{"error": {"code": 404, "err_code": 10059, "description": "stream not found"}}` or the value.
private enum APIResponse<Value: Decodable> {
    struct APIError: Decodable {
        var code: Int
        var err_code: Int?
        var description: String?
    }

    struct ErrorEnvelope: Decodable { var error: APIError? }

    static func decode(_ payload: [UInt8], operation: String) throws -> Value {
        let data = Data(payload)
        let decoder = JSONDecoder()
        if let envelope = try? decoder.decode(ErrorEnvelope.self, from: data), let error = envelope.error {
            let code: NATSError.Code = error.code == 404 ? .notFound : .jetStream
            throw NATSError(
                code: code,
                message: "\(operation): \(error.description ?? "error \(error.code)")",
                jetStreamErrorCode: error.err_code
            )
        }
        do {
            return try decoder.decode(Value.self, from: data)
        } catch {
            throw NATSError(code: .jetStream, message: "\(operation): unexpected reply (\(error))")
        }
    }
}
