internal import CNats
import Dispatch
import Foundation
import Logging
import Synchronization

/// Owns one libnats connection (and its JetStream context). Destroyed when the last reference
/// goes, which is after `run()` has closed it, so no callback can outlive what it points to.
final class NATSConnectionHandle: @unchecked Sendable {
    // Safety: libnats connections and JetStream contexts are thread-safe; the pointers never change.
    let connection: OpaquePointer
    let jetStreamContext: OpaquePointer
    let events: ConnectionEvents
    let requests: RequestMultiplexer

    private init(connection: OpaquePointer, jetStreamContext: OpaquePointer, events: ConnectionEvents, inboxPrefix: String?) throws {
        self.connection = connection
        self.jetStreamContext = jetStreamContext
        self.events = events
        self.requests = try RequestMultiplexer(connection: connection, inboxPrefix: inboxPrefix)
    }

    deinit {
        jsCtx_Destroy(self.jetStreamContext)
        natsConnection_Destroy(self.connection)
    }

    var isConnected: Bool { natsConnection_Status(self.connection) == NATS_CONN_STATUS_CONNECTED }

    var connectedURL: String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard natsConnection_GetConnectedUrl(self.connection, &buffer, buffer.count) == NATS_OK else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Blocks: call through ``BlockingExecutor``.
    static func connect(_ configuration: NATSConfiguration, logger: Logger) throws -> NATSConnectionHandle {
        var options: OpaquePointer?
        try CBridge.check(natsOptions_Create(&options), "natsOptions_Create")
        guard let options else { throw NATSError.invalid("natsOptions_Create returned nothing") }
        defer { natsOptions_Destroy(options) }

        guard !configuration.servers.isEmpty else { throw NATSError.invalid("no NATS servers configured") }
        var servers = configuration.servers.map { UnsafePointer(strdup($0)) }
        defer { for server in servers { free(UnsafeMutablePointer(mutating: server)) } }
        try CBridge.check(natsOptions_SetServers(options, &servers, Int32(servers.count)), "natsOptions_SetServers")
        try CBridge.check(natsOptions_SetNoRandomize(options, true), "natsOptions_SetNoRandomize")
        if let name = configuration.name { try CBridge.check(natsOptions_SetName(options, name), "natsOptions_SetName") }
        if let prefix = configuration.inboxPrefix {
            try CBridge.check(natsOptions_SetCustomInboxPrefix(options, prefix), "natsOptions_SetCustomInboxPrefix")
        }
        if configuration.user != nil || configuration.password != nil {
            try CBridge.check(
                natsOptions_SetUserInfo(options, configuration.user, configuration.password),
                "natsOptions_SetUserInfo"
            )
        }
        if let token = configuration.token { try CBridge.check(natsOptions_SetToken(options, token), "natsOptions_SetToken") }
        if let credentials = configuration.credentialsFile {
            try CBridge.check(
                natsOptions_SetUserCredentialsFromFiles(options, credentials, nil),
                "natsOptions_SetUserCredentialsFromFiles"
            )
        }
        if let tls = configuration.tls {
            try CBridge.check(natsOptions_SetSecure(options, true), "natsOptions_SetSecure")
            if let ca = tls.caFile {
                try CBridge.check(natsOptions_LoadCATrustedCertificates(options, ca), "natsOptions_LoadCATrustedCertificates")
            }
            if let certificate = tls.certificateFile, let key = tls.keyFile {
                try CBridge.check(
                    natsOptions_LoadCertificatesChain(options, certificate, key),
                    "natsOptions_LoadCertificatesChain"
                )
            }
            if let host = tls.expectedHostname {
                try CBridge.check(natsOptions_SetExpectedHostname(options, host), "natsOptions_SetExpectedHostname")
            }
        }
        try CBridge.check(natsOptions_SetTimeout(options, configuration.connectTimeout.milliseconds), "natsOptions_SetTimeout")
        try CBridge.check(natsOptions_SetAllowReconnect(options, true), "natsOptions_SetAllowReconnect")
        try CBridge.check(
            natsOptions_SetMaxReconnect(options, Int32(clamping: configuration.maxReconnectAttempts)),
            "natsOptions_SetMaxReconnect"
        )
        try CBridge.check(
            natsOptions_SetReconnectWait(options, configuration.reconnectWait.milliseconds),
            "natsOptions_SetReconnectWait"
        )
        try CBridge.check(natsOptions_SetReconnectJitter(options, 100, 1000), "natsOptions_SetReconnectJitter")
        try CBridge.check(
            natsOptions_SetReconnectBufSize(options, Int32(clamping: configuration.reconnectBufferSize)),
            "natsOptions_SetReconnectBufSize"
        )
        // Without this, libnats leaves publishes to a flusher thread and adds ~1 ms to every reply.
        try CBridge.check(natsOptions_SetSendAsap(options, true), "natsOptions_SetSendAsap")

        let events = ConnectionEvents(logger: logger)
        // Retained for libnats; released by the closed callback, which runs exactly once per
        // established connection. A failed connect leaks this one small object rather than risk a
        // double release.
        let closure = Unmanaged.passRetained(events).toOpaque()
        try CBridge.check(
            natsOptions_SetClosedCB(
                options,
                { _, closure in
                    guard let closure else { return }
                    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure).takeRetainedValue()
                    events.closed()
                },
                closure
            ),
            "natsOptions_SetClosedCB"
        )
        try CBridge.check(
            natsOptions_SetDisconnectedCB(
                options,
                { _, closure in
                    guard let closure else { return }
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().disconnected()
                },
                closure
            ),
            "natsOptions_SetDisconnectedCB"
        )
        try CBridge.check(
            natsOptions_SetReconnectedCB(
                options,
                { connection, closure in
                    guard let closure else { return }
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().reconnected()
                },
                closure
            ),
            "natsOptions_SetReconnectedCB"
        )
        try CBridge.check(
            natsOptions_SetErrorHandler(
                options,
                { _, subscription, status, closure in
                    guard let closure else { return }
                    let text = String(cString: natsStatus_GetText(status))
                    Unmanaged<ConnectionEvents>.fromOpaque(closure).takeUnretainedValue().asyncError(text)
                },
                closure
            ),
            "natsOptions_SetErrorHandler"
        )

        var connection: OpaquePointer?
        try CBridge.check(natsConnection_Connect(&connection, options), "natsConnection_Connect")
        guard let connection else { throw NATSError.invalid("natsConnection_Connect returned nothing") }
        var jetStream: OpaquePointer?
        let status = natsConnection_JetStream(&jetStream, connection, nil)
        guard status == NATS_OK, let jetStream else {
            let error = CBridge.error(status, "natsConnection_JetStream")
            natsConnection_Close(connection)
            natsConnection_Destroy(connection)
            throw error
        }
        do {
            return try NATSConnectionHandle(
                connection: connection,
                jetStreamContext: jetStream,
                events: events,
                inboxPrefix: configuration.inboxPrefix
            )
        } catch {
            jsCtx_Destroy(jetStream)
            natsConnection_Close(connection)
            natsConnection_Destroy(connection)
            throw error
        }
    }

    func publish(_ payload: [UInt8], to subject: String, replyTo: String?, headers: NATSHeaders) throws {
        let status: natsStatus = payload.withUnsafeBytes { bytes in
            if headers.isEmpty {
                if let replyTo {
                    return natsConnection_PublishRequest(self.connection, subject, replyTo, bytes.baseAddress, Int32(bytes.count))
                }
                return natsConnection_Publish(self.connection, subject, bytes.baseAddress, Int32(bytes.count))
            }
            do {
                let msg = try CBridge.makeMessage(subject: subject, replyTo: replyTo, headers: headers, payload: bytes)
                defer { natsMsg_Destroy(msg) }
                return natsConnection_PublishMsg(self.connection, msg)
            } catch {
                return NATS_INVALID_ARG
            }
        }
        try CBridge.check(status, "publish to \(subject)")
    }

    func subscribe(to subject: String, queue: String?, bufferSize: Int) throws -> NATSSubscription {
        let (stream, continuation) = AsyncStream.makeStream(
            of: NATSMessage.self,
            bufferingPolicy: .bufferingOldest(bufferSize)
        )
        let box = SubscriptionBox(continuation: continuation, subject: subject, logger: self.events.logger)
        let closure = Unmanaged.passRetained(box).toOpaque()
        let handler: natsMsgHandler = { _, _, msg, closure in
            guard let msg, let closure else { return }
            let message = CBridge.copy(msg)
            natsMsg_Destroy(msg)
            Unmanaged<SubscriptionBox>.fromOpaque(closure).takeUnretainedValue().deliver(message)
        }
        var subscription: OpaquePointer?
        let status =
            if let queue {
                natsConnection_QueueSubscribe(&subscription, self.connection, subject, queue, handler, closure)
            } else {
                natsConnection_Subscribe(&subscription, self.connection, subject, handler, closure)
            }
        guard status == NATS_OK, let subscription else {
            Unmanaged<SubscriptionBox>.fromOpaque(closure).release()
            throw CBridge.error(status, "subscribe to \(subject)")
        }
        box.attach(subscription)
        let completeStatus = natsSubscription_SetOnCompleteCB(
            subscription,
            { closure in
                guard let closure else { return }
                Unmanaged<SubscriptionBox>.fromOpaque(closure).takeRetainedValue().complete()
            },
            closure
        )
        if completeStatus != NATS_OK {
            box.complete()
            Unmanaged<SubscriptionBox>.fromOpaque(closure).release()
            throw CBridge.error(completeStatus, "natsSubscription_SetOnCompleteCB")
        }
        continuation.onTermination = { [weak box] _ in box?.unsubscribe() }
        return NATSSubscription(stream: stream, box: box)
    }

    /// Blocks: call through ``BlockingExecutor``.
    func flush(timeout: Duration) throws {
        try CBridge.check(natsConnection_FlushTimeout(self.connection, timeout.milliseconds), "flush")
    }

    /// Drains every subscription, flushes, closes; returns once the close callback ran (or the timeout passed).
    func drain(timeout: Duration) async {
        let status = natsConnection_DrainTimeout(self.connection, timeout.milliseconds)
        if status != NATS_OK { natsConnection_Close(self.connection) }
        await self.events.waitUntilClosed(timeout: timeout + .seconds(1))
    }
}

/// Receives connection-level callbacks on libnats' threads.
final class ConnectionEvents: Sendable {
    let logger: Logger
    private let closedState = Mutex<(isClosed: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    init(logger: Logger) { self.logger = logger }

    func disconnected() { self.logger.info("nats disconnected") }
    func reconnected() { self.logger.info("nats reconnected") }
    func asyncError(_ text: String) { self.logger.info("nats asynchronous error", metadata: ["error.type": "\(text)"]) }

    func closed() {
        let waiters = self.closedState.withLock { state in
            state.isClosed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func waitUntilClosed(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let closed = self.closedState.withLock { state in
                if !state.isClosed { state.waiters.append(continuation) }
                return state.isClosed
            }
            if closed {
                continuation.resume()
                return
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout.milliseconds))) {
                let waiters = self.closedState.withLock { state in
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in waiters { waiter.resume() }
            }
        }
    }
}

/// The bridge between one libnats subscription and its `AsyncStream`.
final class SubscriptionBox: Sendable {
    // `package` members satisfy SubscriptionControl.
    private let continuation: AsyncStream<NATSMessage>.Continuation
    private let subscription = Mutex<UnsafeSendablePointer?>(nil)
    let dropped = Atomic<Int>(0)
    package let subject: String
    let logger: Logger

    init(continuation: AsyncStream<NATSMessage>.Continuation, subject: String, logger: Logger) {
        self.continuation = continuation
        self.subject = subject
        self.logger = logger
    }

    func attach(_ pointer: OpaquePointer) {
        self.subscription.withLock { $0 = UnsafeSendablePointer(pointer: pointer) }
    }

    func deliver(_ message: NATSMessage) {
        if case .dropped = self.continuation.yield(message) {
            let count = self.dropped.add(1, ordering: .relaxed).newValue
            if count == 1 || count.isMultiple(of: 1000) {
                self.logger.info(
                    "subscription buffer full, dropping messages",
                    metadata: ["gatehouse.subject": "\(self.subject)", "gatehouse.dropped": "\(count)"]
                )
            }
        }
    }

    /// Unsubscribes; libnats then calls the completion callback, which ends the stream.
    package func unsubscribe() {
        self.subscription.withLock { pointer in
            if let pointer { _ = natsSubscription_Unsubscribe(pointer.pointer) }
        }
    }

    /// Drains this subscription only: messages already received are still delivered.
    package func drain() {
        self.subscription.withLock { pointer in
            if let pointer { _ = natsSubscription_Drain(pointer.pointer) }
        }
    }

    /// Called once by libnats after the last message was dispatched.
    func complete() {
        self.continuation.finish()
        let pointer = self.subscription.withLock { pointer in
            defer { pointer = nil }
            return pointer
        }
        if let pointer { natsSubscription_Destroy(pointer.pointer) }
    }
}

/// Request/reply over one wildcard inbox subscription per connection: each request gets a token,
/// its reply resumes the waiting task. Faster than `natsConnection_Request`, which blocks a thread.
///
/// Deadlines are kept in a min-heap swept every ``sweepInterval`` by one timer per connection, so a
/// request costs no timer of its own (a timeout fires up to one sweep interval late).
final class RequestMultiplexer: Sendable {
    static let sweepInterval: DispatchTimeInterval = .milliseconds(5)

    let prefix: String
    // Destroying a subscription removes interest, so it is kept until the connection is gone.
    private let subscription = Mutex<UnsafeSendablePointer?>(nil)
    private let state = Mutex(State())
    private let nextToken = Atomic<UInt64>(0)
    private let sweeper: SendableTimer

    private struct Waiter {
        var resume: @Sendable (Result<NATSMessage, any Error>) -> Void
        var subject: String
        var timeout: Duration
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var deadlines = DeadlineHeap()
    }

    /// `inboxPrefix` replaces `_INBOX` in the reply subjects (`<prefix>.<unique>.<token>`).
    init(connection: OpaquePointer, inboxPrefix: String? = nil) throws {
        var inbox: UnsafeMutablePointer<natsInbox>?
        try CBridge.check(natsInbox_Create(&inbox), "natsInbox_Create")
        guard let inbox else { throw NATSError.invalid("natsInbox_Create returned nothing") }
        let created = String(cString: inbox)
        natsInbox_Destroy(inbox)
        if let inboxPrefix, let unique = created.split(separator: ".").last {
            self.prefix = "\(inboxPrefix).\(unique)"
        } else {
            self.prefix = created
        }
        self.sweeper = SendableTimer(source: DispatchSource.makeTimerSource(queue: DispatchQueue(label: "gatehouse.nats.deadlines")))

        var subscription: OpaquePointer?
        // The multiplexer lives as long as the connection; libnats holds it unretained and the
        // subscription ends with the connection, before the handle (which owns this) is released.
        let closure = Unmanaged.passUnretained(self).toOpaque()
        try CBridge.check(
            natsConnection_Subscribe(
                &subscription,
                connection,
                "\(self.prefix).*",
                { _, _, msg, closure in
                    guard let msg, let closure else { return }
                    let message = CBridge.copy(msg)
                    natsMsg_Destroy(msg)
                    Unmanaged<RequestMultiplexer>.fromOpaque(closure).takeUnretainedValue().deliver(message)
                },
                closure
            ),
            "subscribe to the request inbox"
        )
        if let subscription { self.subscription.withLock { $0 = UnsafeSendablePointer(pointer: subscription) } }
        self.sweeper.source.schedule(deadline: .now() + Self.sweepInterval, repeating: Self.sweepInterval, leeway: .milliseconds(1))
        self.sweeper.source.setEventHandler { [weak self] in self?.sweep() }
        self.sweeper.source.resume()
    }

    deinit {
        self.sweeper.source.cancel()
        if let pointer = self.subscription.withLock({ $0 }) { natsSubscription_Destroy(pointer.pointer) }
    }

    private func deliver(_ message: NATSMessage) {
        guard let dot = message.subject.lastIndex(of: "."),
            let token = UInt64(message.subject[message.subject.index(after: dot)...])
        else { return }
        guard let waiter = self.state.withLock({ $0.waiters.removeValue(forKey: token) }) else { return }  // late reply
        if message.status == 503 {
            waiter.resume(.failure(NATSError.noResponders(waiter.subject)))
        } else {
            waiter.resume(.success(message))
        }
    }

    private func fail(_ token: UInt64, _ error: (Waiter) -> NATSError) {
        guard let waiter = self.state.withLock({ $0.waiters.removeValue(forKey: token) }) else { return }
        waiter.resume(.failure(error(waiter)))
    }

    /// Fails every request whose deadline passed.
    private func sweep() {
        let now = DispatchTime.now().uptimeNanoseconds
        let expired = self.state.withLock { state -> [Waiter] in
            var expired: [Waiter] = []
            while let first = state.deadlines.first, first.deadline <= now {
                state.deadlines.removeFirst()
                if let waiter = state.waiters.removeValue(forKey: first.token) { expired.append(waiter) }
            }
            return expired
        }
        for waiter in expired {
            waiter.resume(.failure(NATSError.timeout("no reply on \(waiter.subject) within \(waiter.timeout)")))
        }
    }

    func request(
        _ payload: [UInt8],
        to subject: String,
        headers: NATSHeaders,
        timeout: Duration,
        on handle: NATSConnectionHandle
    ) async throws -> NATSMessage {
        let token = self.nextToken.add(1, ordering: .relaxed).newValue
        let reply = "\(self.prefix).\(token)"
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, timeout.nanoseconds))
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.state.withLock { state in
                    state.waiters[token] = Waiter(resume: { continuation.resume(with: $0) }, subject: subject, timeout: timeout)
                    state.deadlines.insert(deadline: deadline, token: token)
                }
                do {
                    try handle.publish(payload, to: subject, replyTo: reply, headers: headers)
                } catch {
                    self.fail(token) { _ in error as? NATSError ?? NATSError(code: .library, message: "\(error)") }
                }
            }
        } onCancel: {
            self.fail(token) { NATSError(code: .cancelled, message: "request on \($0.subject) cancelled") }
        }
    }

    /// Sends `messages` in order, each with its own reply subject, without waiting in between, and
    /// returns their replies in the same order: one round trip's wait for the lot. Fails with the
    /// first failure (timeout, no responders, cancellation).
    func requestBatch(
        _ messages: [(payload: [UInt8], subject: String, headers: NATSHeaders)],
        timeout: Duration,
        on handle: NATSConnectionHandle
    ) async throws -> [NATSMessage] {
        guard !messages.isEmpty else { return [] }
        let first = self.nextToken.add(UInt64(messages.count), ordering: .relaxed).newValue - UInt64(messages.count) + 1
        let tokens = (0..<UInt64(messages.count)).map { first + $0 }
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, timeout.nanoseconds))
        let batch = BatchReplies(count: messages.count)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                batch.start(continuation)
                self.state.withLock { state in
                    for (index, token) in tokens.enumerated() {
                        state.waiters[token] = Waiter(
                            resume: { batch.complete(index, $0) },
                            subject: messages[index].subject,
                            timeout: timeout
                        )
                        state.deadlines.insert(deadline: deadline, token: token)
                    }
                }
                for (index, message) in messages.enumerated() {
                    do {
                        try handle.publish(message.payload, to: message.subject, replyTo: "\(self.prefix).\(tokens[index])", headers: message.headers)
                    } catch {
                        let failure = error as? NATSError ?? NATSError(code: .library, message: "\(error)")
                        for token in tokens[index...] { self.fail(token) { _ in failure } }
                        return
                    }
                }
            }
        } onCancel: {
            for token in tokens { self.fail(token) { NATSError(code: .cancelled, message: "request on \($0.subject) cancelled") } }
        }
    }
}

/// The replies of one batch of requests, resumed once: when all arrived, or at the first failure.
final class BatchReplies: Sendable {
    private struct State {
        var replies: [NATSMessage?]
        var remaining: Int
        var continuation: CheckedContinuation<[NATSMessage], any Error>?
    }

    private let state: Mutex<State>

    init(count: Int) { self.state = Mutex(State(replies: Array(repeating: nil, count: count), remaining: count)) }

    func start(_ continuation: CheckedContinuation<[NATSMessage], any Error>) { self.state.withLock { $0.continuation = continuation } }

    func complete(_ index: Int, _ result: Result<NATSMessage, any Error>) {
        let resume: (CheckedContinuation<[NATSMessage], any Error>, Result<[NATSMessage], any Error>)? = self.state.withLock { state in
            guard let continuation = state.continuation else { return nil }
            switch result {
            case .failure(let error):
                state.continuation = nil
                return (continuation, .failure(error))
            case .success(let message):
                guard state.replies[index] == nil else { return nil }
                state.replies[index] = message
                state.remaining -= 1
                guard state.remaining == 0 else { return nil }
                state.continuation = nil
                return (continuation, .success(state.replies.compactMap { $0 }))
            }
        }
        if let (continuation, result) = resume { continuation.resume(with: result) }
    }
}

/// Dispatch sources are thread-safe; the timer is set up in `init` and cancelled in `deinit` only.
struct SendableTimer: @unchecked Sendable {
    let source: any DispatchSourceTimer
}

/// A binary min-heap of request deadlines (uptime nanoseconds).
struct DeadlineHeap {
    private var storage: [(deadline: UInt64, token: UInt64)] = []

    var first: (deadline: UInt64, token: UInt64)? { self.storage.first }
    var count: Int { self.storage.count }

    mutating func insert(deadline: UInt64, token: UInt64) {
        self.storage.append((deadline, token))
        var child = self.storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.storage[child].deadline < self.storage[parent].deadline else { break }
            self.storage.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        guard !self.storage.isEmpty else { return }
        self.storage.swapAt(0, self.storage.count - 1)
        self.storage.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < self.storage.count && self.storage[left].deadline < self.storage[smallest].deadline { smallest = left }
            if right < self.storage.count && self.storage[right].deadline < self.storage[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            self.storage.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
