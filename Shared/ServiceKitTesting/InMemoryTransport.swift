public import GatehouseNATS
public import ServiceKit
import Synchronization

/// A ``MessageTransport`` in memory, for unit tests of pure logic: subject wildcards (`*`, `>`),
/// queue groups (one member gets each message), request/reply with deadlines and no-responders.
/// "Durable" publishes are recorded in ``durableMessages`` and delivered like core ones.
public final class InMemoryTransport: MessageTransport, Sendable {
    private struct Subscriber {
        var id: Int
        var pattern: String
        var queue: String?
        var continuation: AsyncStream<NATSMessage>.Continuation
        var draining: Bool
    }

    private let state = Mutex<(subscribers: [Subscriber], nextID: Int, durable: [NATSMessage], seenIDs: Set<String>)>(([], 0, [], []))
    private let inboxCounter = Atomic<Int>(0)

    public init() {}

    /// Every durably published message (after de-duplication), in order.
    public var durableMessages: [NATSMessage] { self.state.withLock { $0.durable } }

    public func publish(_ message: NATSMessage) async throws {
        self.deliver(message)
    }

    public func publishDurable(_ message: NATSMessage, messageID: String, timeout: Duration) async throws {
        let isNew = self.state.withLock { state in
            guard state.seenIDs.insert(messageID).inserted else { return false }
            state.durable.append(message)
            return true
        }
        if isNew { self.deliver(message) }
    }

    public func request(_ message: NATSMessage, timeout: Duration) async throws -> NATSMessage {
        let inbox = "_INBOX.memory.\(self.inboxCounter.add(1, ordering: .relaxed).newValue)"
        let replies = try await self.subscribe(to: inbox, queue: nil)
        defer { replies.unsubscribe() }
        var request = message
        request.replyTo = inbox
        guard self.deliver(request) > 0 else { throw NATSError.noResponders(message.subject) }
        return try await withThrowingTaskGroup(of: NATSMessage?.self) { group in
            group.addTask {
                for await reply in replies { return reply }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let reply = try await group.next() ?? nil else {
                throw NATSError.timeout("no reply on \(message.subject) within \(timeout)")
            }
            return reply
        }
    }

    public func subscribe(to subject: String, queue: String?) async throws -> NATSSubscription {
        let (stream, continuation) = AsyncStream.makeStream(of: NATSMessage.self)
        let id = self.state.withLock { state in
            state.nextID += 1
            state.subscribers.append(Subscriber(id: state.nextID, pattern: subject, queue: queue, continuation: continuation, draining: false))
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        return NATSSubscription(stream: stream, control: Control(transport: self, id: id, subject: subject))
    }

    /// True when some subscription would receive a message on `subject`.
    public func hasSubscriber(for subject: String) -> Bool {
        self.state.withLock { state in state.subscribers.contains { !$0.draining && Self.matches($0.pattern, subject) } }
    }

    /// Delivers to matching subscribers (one per queue group); returns how many got it.
    @discardableResult
    private func deliver(_ message: NATSMessage) -> Int {
        let targets = self.state.withLock { state -> [AsyncStream<NATSMessage>.Continuation] in
            var plain: [AsyncStream<NATSMessage>.Continuation] = []
            var groups: [String: [AsyncStream<NATSMessage>.Continuation]] = [:]
            for subscriber in state.subscribers where !subscriber.draining && Self.matches(subscriber.pattern, message.subject) {
                if let queue = subscriber.queue {
                    groups[queue, default: []].append(subscriber.continuation)
                } else {
                    plain.append(subscriber.continuation)
                }
            }
            return plain + groups.values.compactMap { $0.randomElement() }
        }
        for target in targets { target.yield(message) }
        return targets.count
    }

    fileprivate func remove(_ id: Int) {
        let removed = self.state.withLock { state -> Subscriber? in
            guard let index = state.subscribers.firstIndex(where: { $0.id == id }) else { return nil }
            return state.subscribers.remove(at: index)
        }
        removed?.continuation.finish()
    }

    fileprivate func drain(_ id: Int) {
        let continuation = self.state.withLock { state -> AsyncStream<NATSMessage>.Continuation? in
            guard let index = state.subscribers.firstIndex(where: { $0.id == id }) else { return nil }
            state.subscribers[index].draining = true
            return state.subscribers[index].continuation
        }
        continuation?.finish()
    }

    /// NATS subject matching: `*` is one token, `>` the rest (one or more tokens).
    public static func matches(_ pattern: String, _ subject: String) -> Bool {
        let patternTokens = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let subjectTokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in patternTokens.enumerated() {
            if token == ">" { return subjectTokens.count > index }
            guard index < subjectTokens.count else { return false }
            if token != "*" && token != subjectTokens[index] { return false }
        }
        return patternTokens.count == subjectTokens.count
    }

    private struct Control: SubscriptionControl {
        let transport: InMemoryTransport
        let id: Int
        let subject: String
        var droppedMessages: Int { 0 }
        func unsubscribe() { self.transport.remove(self.id) }
        func drain() { self.transport.drain(self.id) }
    }
}
