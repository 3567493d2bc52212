import Synchronization

/// The messages of one subscription, in arrival order.
///
/// Between libnats and the consumer sits a buffer of `NATSConfiguration.subscriptionBufferSize`
/// messages; when the consumer falls that far behind, newer messages are dropped and counted in
/// ``droppedMessages`` (core NATS delivery is at-most-once; JetStream is for what must not be lost).
public struct NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    private let stream: AsyncStream<NATSMessage>
    private let control: any SubscriptionControl

    init(stream: AsyncStream<NATSMessage>, box: SubscriptionBox) {
        self.stream = stream
        self.control = box
    }

    /// A subscription fed by something other than libnats (an in-memory bus in tests).
    package init(stream: AsyncStream<NATSMessage>, control: any SubscriptionControl) {
        self.stream = stream
        self.control = control
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<NATSMessage>.AsyncIterator

        public mutating func next(isolation actor: isolated (any Actor)? = #isolation) async -> NATSMessage? {
            await self.base.next(isolation: actor)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: self.stream.makeAsyncIterator()) }

    /// The subject (pattern) subscribed to.
    public var subject: String { self.control.subject }

    /// Messages dropped because the consumer fell behind by more than the buffer.
    public var droppedMessages: Int { self.control.droppedMessages }

    /// Removes interest at once; the sequence ends.
    public func unsubscribe() { self.control.unsubscribe() }

    /// Stops taking new messages but delivers the ones already received, then ends the sequence.
    public func drain() { self.control.drain() }
}

/// What a ``NATSSubscription`` controls underneath.
package protocol SubscriptionControl: Sendable {
    var subject: String { get }
    var droppedMessages: Int { get }
    func unsubscribe()
    func drain()
}

extension SubscriptionBox: SubscriptionControl {
    package var droppedMessages: Int { self.dropped.load(ordering: .relaxed) }
}
