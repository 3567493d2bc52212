internal import CNats
import Dispatch
public import Logging
public import ServiceLifecycle
import Synchronization

/// A NATS client over the official C library (libnats), with an async/await API.
///
/// Like `PostgresClient`, the client is a `Service`: nothing is sent until ``run()`` runs in some
/// task. `run()` connects (retrying with exponential backoff), keeps the connection (libnats
/// reconnects and fails over between the configured servers on its own), and on graceful shutdown
/// drains: subscriptions stop taking new messages, buffered ones are still delivered, pending
/// publishes are flushed, then the connection closes.
///
/// Operations called before the first connection wait for it; after shutdown they throw
/// ``NATSError/Code/connectionClosed``.
public final class NATSClient: Service, Sendable {
    public let configuration: NATSConfiguration
    let logger: Logger
    private let state = Mutex(State.idle(waiters: [:]))
    private let nextWaiterID = Atomic<UInt64>(0)

    private enum State {
        case idle(waiters: [UInt64: CheckedContinuation<NATSConnectionHandle, any Error>])
        case connected(NATSConnectionHandle)
        case closed
    }

    public init(configuration: NATSConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "gatehouse.component"] = "nats"
        self.logger = logger
    }

    /// True while the client holds a live connection to a server.
    public var isConnected: Bool {
        self.state.withLock { state in
            if case .connected(let handle) = state { return handle.isConnected }
            return false
        }
    }

    /// The URL of the server currently connected to, if any.
    public var connectedServer: String? {
        self.state.withLock { state in
            if case .connected(let handle) = state { return handle.connectedURL }
            return nil
        }
    }

    // MARK: Lifecycle

    public func run() async throws {
        let handle: NATSConnectionHandle
        do {
            handle = try await cancelWhenGracefulShutdown { try await self.connectWithBackoff() }
        } catch {
            self.close(with: error)
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            throw error
        }
        let waiters = self.state.withLock { state -> [CheckedContinuation<NATSConnectionHandle, any Error>] in
            guard case .idle(let waiters) = state else { return [] }
            state = .connected(handle)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: handle) }
        self.logger.debug("nats connected", metadata: ["server.address": "\(handle.connectedURL ?? "?")"])

        try? await gracefulShutdown()

        self.logger.debug("nats draining")
        await handle.drain(timeout: self.configuration.drainTimeout)
        self.close(with: NATSError.closed("client shut down"))
        self.logger.debug("nats closed")
    }

    private func close(with error: any Error) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<NATSConnectionHandle, any Error>] in
            defer { state = .closed }
            if case .idle(let waiters) = state { return Array(waiters.values) }
            return []
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    private func connectWithBackoff() async throws -> NATSConnectionHandle {
        var delay = self.configuration.initialConnectBackoff
        var attempt = 0
        while true {
            attempt += 1
            do {
                let configuration = self.configuration
                let logger = self.logger
                return try await BlockingExecutor.run { try NATSConnectionHandle.connect(configuration, logger: logger) }
            } catch {
                self.logger.info(
                    "nats connect failed, retrying",
                    metadata: ["error.type": "\(error)", "gatehouse.attempt": "\(attempt)", "gatehouse.retry_in": "\(delay)"]
                )
                try await Task.sleep(for: delay)
                delay = min(delay * 2, self.configuration.maxConnectBackoff)
            }
        }
    }

    private var connectedHandle: NATSConnectionHandle? {
        self.state.withLock { state in
            if case .connected(let handle) = state { return handle }
            return nil
        }
    }

    /// The live connection, waiting for the first one if `run()` is still connecting.
    func connection() async throws -> NATSConnectionHandle {
        if let handle = self.connectedHandle { return handle }
        let id = self.nextWaiterID.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Result<NATSConnectionHandle, any Error>? = self.state.withLock { state in
                    switch state {
                    case .connected(let handle): return .success(handle)
                    case .closed: return .failure(NATSError.closed())
                    case .idle(var waiters):
                        waiters[id] = continuation
                        state = .idle(waiters: waiters)
                        return nil
                    }
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = self.state.withLock { state -> CheckedContinuation<NATSConnectionHandle, any Error>? in
                guard case .idle(var waiters) = state, let waiter = waiters.removeValue(forKey: id) else { return nil }
                state = .idle(waiters: waiters)
                return waiter
            }
            waiter?.resume(throwing: NATSError(code: .cancelled, message: "cancelled while waiting for the connection"))
        }
    }

    // MARK: Core NATS

    /// Publishes a message. It is buffered by libnats and sent at once (`SendAsap`).
    public func publish(
        _ payload: [UInt8],
        to subject: String,
        replyTo: String? = nil,
        headers: NATSHeaders = NATSHeaders()
    ) async throws {
        let handle = try await self.connection()
        try handle.publish(payload, to: subject, replyTo: replyTo, headers: headers)
    }

    /// Subscribes to `subject` (wildcards allowed); with a `queue`, messages are spread over the group.
    ///
    /// The sequence ends when the subscription is unsubscribed, drained or its connection closed.
    /// Stopping iteration (or cancelling the iterating task) unsubscribes.
    public func subscribe(to subject: String, queue: String? = nil) async throws -> NATSSubscription {
        let handle = try await self.connection()
        return try handle.subscribe(to: subject, queue: queue, bufferSize: self.configuration.subscriptionBufferSize)
    }

    /// Sends a request and waits for the first reply, at most `timeout`.
    ///
    /// Throws ``NATSError/Code/timeout`` when nothing answers in time and
    /// ``NATSError/Code/noResponders`` at once when nobody subscribes to `subject`.
    public func request(
        _ payload: [UInt8],
        to subject: String,
        headers: NATSHeaders = NATSHeaders(),
        timeout: Duration
    ) async throws -> NATSMessage {
        let handle: NATSConnectionHandle
        if let connected = self.connectedHandle {
            handle = connected
        } else {
            handle = try await withDeadline(timeout, subject: subject) { try await self.connection() }
        }
        return try await handle.requests.request(payload, to: subject, headers: headers, timeout: timeout, on: handle)
    }

    /// Sends several requests in order without waiting in between; their replies, in order.
    public func requestBatch(
        _ messages: [(payload: [UInt8], subject: String, headers: NATSHeaders)],
        timeout: Duration
    ) async throws -> [NATSMessage] {
        let handle = try await self.connection()
        return try await handle.requests.requestBatch(messages, timeout: timeout, on: handle)
    }

    /// Waits until the server has processed everything published so far.
    public func flush(timeout: Duration = .seconds(5)) async throws {
        let handle = try await self.connection()
        try await BlockingExecutor.run { try handle.flush(timeout: timeout) }
    }

    /// JetStream operations over this client.
    public var jetStream: JetStream { JetStream(client: self) }
}

private func withDeadline<T: Sendable>(
    _ timeout: Duration,
    subject: String,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw NATSError.timeout("not connected within \(timeout) for \(subject)")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
