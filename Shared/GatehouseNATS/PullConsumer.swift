internal import CNats
public import Foundation
import Synchronization

/// A subscription bound to a durable JetStream pull consumer.
///
/// ``fetch(batch:timeout:)`` asks for up to `batch` messages; each must be acknowledged
/// (``JetStreamMessage/ack()``), negatively acknowledged for redelivery, or terminated. Unacknowledged
/// messages come back after the consumer's `ackWait`.
public final class PullConsumer: @unchecked Sendable {
    // Safety: the subscription pointer never changes; libnats serialises fetches on a subscription
    // internally, and the lock below keeps one fetch at a time from our side too.
    private let subscription: OpaquePointer
    private let handle: NATSConnectionHandle
    private let fetchLock = NSLock()
    public let stream: String
    public let durable: String

    /// Blocks: called through ``BlockingExecutor``.
    init(handle: NATSConnectionHandle, stream: String, durable: String) throws {
        var options = jsSubOptions()
        try CBridge.check(jsSubOptions_Init(&options), "jsSubOptions_Init")
        var subscription: OpaquePointer?
        var errorCode = jsErrCode(0)
        let status = stream.withCString { streamName in
            durable.withCString { durableName in
                options.Stream = streamName
                options.Consumer = durableName
                options.ManualAck = true
                return js_PullSubscribe(&subscription, handle.jetStreamContext, nil, durableName, nil, &options, &errorCode)
            }
        }
        guard status == NATS_OK, let subscription else {
            var error = CBridge.error(status, "bind pull consumer \(stream)/\(durable)")
            if errorCode.rawValue == 10014 { error = NATSError(code: .notFound, message: error.message) }
            throw error
        }
        self.subscription = subscription
        self.handle = handle
        self.stream = stream
        self.durable = durable
    }

    deinit {
        natsSubscription_Destroy(self.subscription)
    }

    /// Waits up to `timeout` for up to `batch` messages; an empty array means none arrived in time.
    public func fetch(batch: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        guard batch > 0 else { throw NATSError.invalid("batch must be positive") }
        return try await BlockingExecutor.run { try self.fetchBlocking(batch: batch, timeout: timeout) }
    }

    private func fetchBlocking(batch: Int, timeout: Duration) throws -> [JetStreamMessage] {
        self.fetchLock.lock()
        defer { self.fetchLock.unlock() }
        var list = natsMsgList()
        var errorCode = jsErrCode(0)
        let status = natsSubscription_Fetch(&list, self.subscription, Int32(batch), timeout.milliseconds, &errorCode)
        if status == NATS_TIMEOUT {
            natsMsgList_Destroy(&list)
            return []
        }
        guard status == NATS_OK else {
            natsMsgList_Destroy(&list)
            throw CBridge.error(status, "fetch from \(self.stream)/\(self.durable)")
        }
        var messages: [JetStreamMessage] = []
        messages.reserveCapacity(Int(list.Count))
        for index in 0..<Int(list.Count) {
            guard let msg = list.Msgs[index] else { continue }
            list.Msgs[index] = nil  // ownership moves to JetStreamMessage
            messages.append(JetStreamMessage(taking: msg, consumer: self))
        }
        natsMsgList_Destroy(&list)
        return messages
    }
}

/// A message fetched from a pull consumer. It owns its libnats message and destroys it when released.
public final class JetStreamMessage: @unchecked Sendable {
    // Safety: every use of `msg` happens under `lock`; a libnats message is not thread-safe.
    private let lock = NSLock()
    private var msg: OpaquePointer?
    private var settled = false
    private let consumer: PullConsumer  // keeps the subscription (and so the connection) alive

    public let message: NATSMessage
    /// The message's sequence in the stream.
    public let streamSequence: UInt64
    /// How many times it was delivered (1 on the first delivery).
    public let deliveryCount: UInt64
    /// Messages left in the stream for this consumer after this one.
    public let pending: UInt64
    /// When the stream stored it.
    public let timestamp: Date

    init(taking msg: OpaquePointer, consumer: PullConsumer) {
        self.msg = msg
        self.consumer = consumer
        self.message = CBridge.copy(msg)
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&meta, msg) == NATS_OK, let meta {
            self.streamSequence = meta.pointee.Sequence.Stream
            self.deliveryCount = meta.pointee.NumDelivered
            self.pending = meta.pointee.NumPending
            self.timestamp = Date(timeIntervalSince1970: Double(meta.pointee.Timestamp) / 1e9)
            jsMsgMetaData_Destroy(meta)
        } else {
            self.streamSequence = 0
            self.deliveryCount = 1
            self.pending = 0
            self.timestamp = Date()
        }
    }

    deinit {
        if let msg { natsMsg_Destroy(msg) }
    }

    public var subject: String { self.message.subject }
    public var payload: [UInt8] { self.message.payload }
    public var headers: NATSHeaders { self.message.headers }

    /// Acknowledges: the server will not deliver it again.
    public func ack() throws { try self.settle("ack") { natsMsg_Ack($0, nil) } }

    /// Asks for redelivery, after `delay` if given.
    public func nak(delay: Duration? = nil) throws {
        try self.settle("nak") { msg in
            if let delay { return natsMsg_NakWithDelay(msg, delay.milliseconds, nil) }
            return natsMsg_Nak(msg, nil)
        }
    }

    /// Tells the server never to deliver it again (a poison message).
    public func term() throws { try self.settle("term") { natsMsg_Term($0, nil) } }

    /// Extends the ack deadline while work on it continues.
    public func inProgress() throws {
        self.lock.lock()
        defer { self.lock.unlock() }
        guard let msg, !self.settled else { return }
        try CBridge.check(natsMsg_InProgress(msg, nil), "in-progress")
    }

    private func settle(_ operation: String, _ body: (OpaquePointer) -> natsStatus) throws {
        self.lock.lock()
        defer { self.lock.unlock() }
        guard let msg, !self.settled else { return }
        try CBridge.check(body(msg), operation)
        self.settled = true
    }
}
