public import Foundation
import GatehouseNATS
public import GatehouseWire
public import Logging
import Metrics
public import ServiceLifecycle

/// What a request handler sees besides the request.
public struct MessageContext: Sendable {
    public var logger: Logger
    /// The tenant the caller acts for (`Gatehouse-Tenant` header), if any.
    public var tenant: TenantID?
    public var traceparent: TraceParent?
    public var subject: String
    /// When the caller stops waiting (`Gatehouse-Deadline`), if it said.
    public var deadline: Date?

    /// The tenant the caller acts for; `invalid_request` for a request that names none (every
    /// tenant-scoped method needs it).
    public func requiredTenant() throws -> TenantID {
        guard let tenant = self.tenant else {
            throw WireError(code: .invalidRequest, message: "the \(WireHeaders.tenant) header is required")
        }
        return tenant
    }

    /// What is left of the caller's patience, on the continuous clock (`nil`: it did not say).
    public var deadlineInstant: ContinuousClock.Instant? {
        self.deadline.map { .now + .milliseconds(Int64(($0.timeIntervalSinceNow * 1000).rounded(.down))) }
    }
}

/// Handles one request method.
public protocol RequestHandler: Sendable {
    associatedtype Request: GatehouseRequest
    /// The method served; the responder subscribes to its subject.
    var method: RPCMethod { get }
    func handle(_ request: Request, context: MessageContext) async throws -> Request.Response
}

/// A type-erased handler: raw request in, encoded ``RPCReply`` out.
struct ErasedHandler: Sendable {
    let method: RPCMethod
    /// The encoded reply; `nil` when the request expired before it was handled (nobody waits).
    let respond: @Sendable (NATSMessage, Logger) async -> [UInt8]?

    init<H: RequestHandler>(_ handler: H) {
        self.method = handler.method
        let expired = Counter(label: "gatehouse_rpc_expired_total", dimensions: [("method", "\(handler.method)")])
        self.respond = { message, logger in
            let deadline = message.headers[WireHeaders.deadline].flatMap(Int64.init).map { Date(timeIntervalSince1970: Double($0) / 1000) }
            if let deadline, deadline < Date() {
                // The caller gave up while the request waited in the queue: doing it now would act
                // for nobody (and could open a door late).
                expired.increment()
                logger.debug("request expired before it was handled", metadata: ["gatehouse.subject": "\(message.subject)"])
                return nil
            }
            let tenant = message.headers[WireHeaders.tenant].flatMap(TenantID.init)
            let traceparent = message.headers[WireHeaders.traceparent].flatMap(TraceParent.init)
            var logger = logger
            logger[metadataKey: "gatehouse.subject"] = "\(message.subject)"
            if let tenant { logger[metadataKey: "gatehouse.tenant_id"] = "\(tenant)" }
            if let traceparent { logger[metadataKey: "trace_id"] = "\(traceparent.traceID)" }
            let reply: RPCReply<H.Request.Response>
            do {
                let request = try WireCoding.decode(H.Request.self, from: Data(message.payload))
                let context = MessageContext(
                    logger: logger,
                    tenant: tenant,
                    traceparent: traceparent,
                    subject: message.subject,
                    deadline: deadline
                )
                let response = try await TraceContext.$current.withValue(traceparent ?? .root()) {
                    try await handler.handle(request, context: context)
                }
                reply = .result(response)
            } catch let error as DecodingError {
                logger.debug("undecodable request", metadata: ["error.type": "\(error)"])
                reply = .error(WireError(code: .invalidRequest, message: "request does not match \(handler.method) schema"))
            } catch let error as any WireErrorConvertible {
                reply = .error(error.wireError)
            } catch {
                logger.error("request handler failed", metadata: ["error.type": "\(String(reflecting: error))"])
                reply = .error(WireError(code: .internal, message: "internal error"))
            }
            return (try? Array(WireCoding.encode(reply))) ?? Array(#"{"error":{"code":"internal","message":"encoding failed"}}"#.utf8)
        }
    }
}

/// Serves request handlers over the bus, in a queue group so replicas share the load.
///
/// At most `maxConcurrentRequests` requests per method run at once; more wait in the
/// subscription's buffer. On graceful shutdown it stops taking requests (drains the
/// subscriptions) and returns once the requests in flight have been answered.
public struct BusResponder: Service {
    let transport: any MessageTransport
    let queue: String
    let handlers: [ErasedHandler]
    let maxConcurrentRequests: Int
    let logger: Logger

    public init(
        transport: any MessageTransport,
        queue: String,
        handlers: [any RequestHandler],
        maxConcurrentRequests: Int = 256,
        logger: Logger
    ) {
        self.transport = transport
        self.queue = queue
        self.handlers = handlers.map { ErasedHandler($0) }
        self.maxConcurrentRequests = maxConcurrentRequests
        self.logger = logger
    }

    public func run() async throws {
        var subscriptions: [(NATSSubscription, ErasedHandler)] = []
        for handler in self.handlers {
            subscriptions.append((try await self.transport.subscribe(to: handler.method.subject, queue: self.queue), handler))
        }
        let active = subscriptions
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for (subscription, handler) in active {
                    group.addTask { await self.serve(subscription, handler) }
                }
            }
        } onGracefulShutdown: {
            for (subscription, _) in active { subscription.drain() }
        }
    }

    private func serve(_ subscription: NATSSubscription, _ handler: ErasedHandler) async {
        let handled = Counter(label: "gatehouse.rpc.requests", dimensions: [("gatehouse.method", handler.method.subject)])
        let duration = Timer(label: "gatehouse.rpc.duration", dimensions: [("gatehouse.method", handler.method.subject)])
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await message in subscription {
                if inFlight >= self.maxConcurrentRequests {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask {
                    let start = ContinuousClock.now
                    guard let reply = await handler.respond(message, self.logger) else { return }
                    if let replyTo = message.replyTo {
                        do {
                            try await self.transport.publish(NATSMessage(subject: replyTo, payload: reply))
                        } catch {
                            self.logger.info("reply not sent", metadata: ["error.type": "\(error)"])
                        }
                    }
                    handled.increment()
                    duration.recordNanoseconds((ContinuousClock.now - start).nanosecondsClamped)
                }
            }
        }
    }
}

/// Answers ``Ping`` for a service.
public struct PingHandler: RequestHandler {
    public let reply: PingReply

    public init(reply: PingReply) { self.reply = reply }

    public var method: RPCMethod { Ping(service: self.reply.service).method }

    public func handle(_ request: Ping, context: MessageContext) async throws -> PingReply {
        guard request.service == self.reply.service else {
            throw WireError(code: .invalidRequest, message: "ping for \(request.service) sent to \(self.reply.service)")
        }
        return self.reply
    }
}

extension Duration {
    /// Whole nanoseconds, `Int64.max` when they do not fit.
    public var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
