public import Foundation
public import GatehouseNATS
public import GatehouseWire
public import Logging

/// What the typed ``MessageBus`` needs from a transport: NATS in production, memory in unit tests.
public protocol MessageTransport: Sendable {
    /// Fire-and-forget publish.
    func publish(_ message: NATSMessage) async throws
    /// Publish to a JetStream stream and wait for its ack; `messageID` de-duplicates.
    func publishDurable(_ message: NATSMessage, messageID: String, timeout: Duration) async throws
    /// Publish several, in order, and wait for every ack (a transport may pipeline them).
    func publishDurable(_ messages: [(message: NATSMessage, messageID: String)], timeout: Duration) async throws
    /// Request/reply with a deadline.
    func request(_ message: NATSMessage, timeout: Duration) async throws -> NATSMessage
    /// Subscribes; with a queue group, each message goes to one member.
    func subscribe(to subject: String, queue: String?) async throws -> NATSSubscription
}

extension MessageTransport {
    /// One after the other, each acknowledged before the next is sent.
    public func publishDurable(_ messages: [(message: NATSMessage, messageID: String)], timeout: Duration) async throws {
        for (message, messageID) in messages { try await self.publishDurable(message, messageID: messageID, timeout: timeout) }
    }
}

/// ``MessageTransport`` over a ``NATSClient``.
public struct NATSTransport: MessageTransport {
    public let client: NATSClient

    public init(client: NATSClient) { self.client = client }

    public func publish(_ message: NATSMessage) async throws {
        try await self.client.publish(message.payload, to: message.subject, replyTo: message.replyTo, headers: message.headers)
    }

    public func publishDurable(_ message: NATSMessage, messageID: String, timeout: Duration) async throws {
        _ = try await self.client.jetStream.publish(
            message.payload,
            to: message.subject,
            messageID: messageID,
            headers: message.headers,
            timeout: timeout
        )
    }

    /// Pipelined: all are sent in order, then the acks are awaited together.
    public func publishDurable(_ messages: [(message: NATSMessage, messageID: String)], timeout: Duration) async throws {
        _ = try await self.client.jetStream.publishBatch(
            messages.map { (payload: $0.message.payload, subject: $0.message.subject, messageID: $0.messageID, headers: $0.message.headers) },
            timeout: timeout
        )
    }

    public func request(_ message: NATSMessage, timeout: Duration) async throws -> NATSMessage {
        try await self.client.request(message.payload, to: message.subject, headers: message.headers, timeout: timeout)
    }

    public func subscribe(to subject: String, queue: String?) async throws -> NATSSubscription {
        try await self.client.subscribe(to: subject, queue: queue)
    }
}

/// The trace of the work the current task does, carried from message to message.
public enum TraceContext {
    @TaskLocal public static var current: TraceParent?

    /// The `traceparent` to put on an outgoing message: a child of the current trace, or a new root.
    public static func outgoing() -> TraceParent { self.current?.child() ?? .root() }
}

/// The typed message bus every service uses: requests, replies and events in the wire types.
///
/// Requests carry `traceparent` and, when they act for a tenant, `Gatehouse-Tenant` headers.
/// Events are CloudEvents published to JetStream with `Nats-Msg-Id` = event id, so a retried
/// publish is stored once.
public struct MessageBus: Sendable {
    public let transport: any MessageTransport
    public let source: EventSource
    public let defaultTimeout: Duration

    public init(transport: any MessageTransport, source: EventSource, defaultTimeout: Duration = .seconds(2)) {
        self.transport = transport
        self.source = source
        self.defaultTimeout = defaultTimeout
    }

    /// Sends `request` to its method's subject and decodes the reply.
    ///
    /// Throws the responder's ``WireError``; `unavailable` when nobody serves the method;
    /// `deadlineExceeded` when no reply came in time.
    public func request<R: GatehouseRequest>(
        _ request: R,
        tenant: TenantID? = nil,
        timeout: Duration? = nil
    ) async throws -> R.Response {
        var headers = NATSHeaders()
        headers[WireHeaders.traceparent] = TraceContext.outgoing().description
        if let tenant { headers[WireHeaders.tenant] = tenant.description }
        let wait = timeout ?? self.defaultTimeout
        headers[WireHeaders.deadline] = "\(Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) + wait.nanosecondsClamped / 1_000_000)"
        let payload = try WireCoding.encode(request)
        let subject = request.method.subject
        let reply: NATSMessage
        do {
            reply = try await self.transport.request(
                NATSMessage(subject: subject, headers: headers, payload: Array(payload)),
                timeout: wait
            )
        } catch let error as NATSError {
            switch error.code {
            case .noResponders: throw WireError(code: .unavailable, message: "no responder for \(subject)")
            case .timeout: throw WireError(code: .deadlineExceeded, message: "no reply from \(subject) in time")
            default: throw WireError(code: .unavailable, message: "\(subject): \(error.message)")
            }
        }
        let decoded: RPCReply<R.Response>
        do {
            decoded = try WireCoding.decode(RPCReply<R.Response>.self, from: Data(reply.payload))
        } catch {
            throw WireError(code: .internal, message: "undecodable reply from \(subject)")
        }
        return try decoded.get()
    }

    /// Publishes an event durably (JetStream ack awaited) and returns it as sent.
    @discardableResult
    public func publish<E: GatehouseEventData>(
        _ data: E,
        tenant: TenantID,
        subject: String? = nil,
        id: UUID = UUID(),
        time: Date = Date(),
        context: EventContext = EventContext(),
        timeout: Duration? = nil
    ) async throws -> CloudEvent<E> {
        let event = CloudEvent(
            id: id,
            source: self.source,
            time: time,
            subject: subject,
            tenant: tenant,
            traceparent: TraceContext.outgoing().description,
            context: context,
            data: data
        )
        try await self.publish(event, timeout: timeout)
        return event
    }

    /// Publishes a prepared event durably.
    public func publish<E: GatehouseEventData>(_ event: CloudEvent<E>, timeout: Duration? = nil) async throws {
        var headers = NATSHeaders()
        headers[WireHeaders.eventType] = event.type
        if let traceparent = event.traceparent { headers[WireHeaders.traceparent] = traceparent }
        let payload = try WireCoding.encode(event)
        try await self.transport.publishDurable(
            NATSMessage(subject: event.natsSubject, headers: headers, payload: Array(payload)),
            messageID: event.id.uuidString.lowercased(),
            timeout: timeout ?? self.defaultTimeout
        )
    }

    /// Live events of one type (of one tenant, or all), core NATS delivery. Undecodable messages are
    /// skipped and logged; for at-least-once processing use a JetStream consumer instead.
    public func events<E: GatehouseEventData>(
        _ type: E.Type,
        tenant: TenantID? = nil,
        queue: String? = nil,
        logger: Logger
    ) async throws -> AsyncCompactMapSequence<NATSSubscription, CloudEvent<E>> {
        let subject =
            tenant.map { Subjects.event(E.eventType, tenant: $0) }
            ?? Subjects.event(E.eventType, tenant: .operator).replacingOccurrences(
                of: ".\(TenantID.operator).",
                with: ".*."
            )
        let subscription = try await self.transport.subscribe(to: subject, queue: queue)
        return subscription.compactMap { message in
            do {
                return try WireCoding.decode(CloudEvent<E>.self, from: Data(message.payload))
            } catch {
                logger.warning("undecodable event", metadata: ["gatehouse.subject": "\(message.subject)"])
                return nil
            }
        }
    }
}
