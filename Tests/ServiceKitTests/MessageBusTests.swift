import Dispatch
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import ServiceKit
import ServiceKitTesting
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

struct SlowPing: RequestHandler {
    let started: AsyncStream<Void>.Continuation
    let release: AsyncStream<Void>
    var method: RPCMethod { Ping(service: .access).method }

    func handle(_ request: Ping, context: MessageContext) async throws -> PingReply {
        self.started.yield()
        for await _ in self.release { break }
        return PingReply(service: .access, version: "t", instance: "slow", startedAt: Date(timeIntervalSince1970: 0))
    }
}

struct FailingPing: RequestHandler {
    var method: RPCMethod { Ping(service: .audit).method }
    func handle(_ request: Ping, context: MessageContext) async throws -> PingReply {
        throw WireError(code: .permissionDenied, message: "no")
    }
}

/// Counts the requests it handles and remembers the caller's deadline.
final class CountingPing: RequestHandler {
    let seen = Mutex<[Date?]>([])
    var method: RPCMethod { Ping(service: .inference).method }

    func handle(_ request: Ping, context: MessageContext) async throws -> PingReply {
        self.seen.withLock { $0.append(context.deadline) }
        return PingReply(service: .inference, version: "t", instance: "count", startedAt: Date(timeIntervalSince1970: 0))
    }
}

@Suite(.timeLimit(.minutes(1)))
struct MessageBusTests {
    let logger = Logger(label: "test")

    @Test func requestReachesHandlerAndErrorsComeBackTyped() async throws {
        let transport = InMemoryTransport()
        let bus = MessageBus(transport: transport, source: EventSource(service: "test", instance: "t"))
        let reply = PingReply(service: .identity, version: "1", instance: "i", startedAt: Date(timeIntervalSince1970: 1))
        let responder = BusResponder(
            transport: transport,
            queue: "q",
            handlers: [PingHandler(reply: reply), FailingPing()],
            logger: self.logger
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await responder.run() }
                #expect(try await eventually { (try? await bus.request(Ping(service: .identity))) == reply })
                await #expect(throws: WireError(code: .permissionDenied, message: "")) { try await bus.request(Ping(service: .audit)) }
                await #expect(throws: WireError(code: .unavailable, message: "")) { try await bus.request(Ping(service: .inference)) }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    /// A request whose caller already gave up is dropped unhandled; a live one carries its deadline.
    @Test func requestsPastTheirDeadlineAreNotHandled() async throws {
        let transport = InMemoryTransport()
        let counting = CountingPing()
        let responder = BusResponder(transport: transport, queue: "q", handlers: [counting], logger: self.logger)
        let bus = MessageBus(transport: transport, source: EventSource(service: "test", instance: "t"))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await responder.run() }
                #expect(try await eventually { (try? await bus.request(Ping(service: .inference), timeout: .seconds(5))) != nil })
                let handled = counting.seen.withLock { $0.count }
                let deadline = counting.seen.withLock { $0.last ?? nil }
                #expect(deadline.map { $0 > Date() && $0 < Date().addingTimeInterval(6) } == true)
                var headers = NATSHeaders()
                headers[WireHeaders.deadline] = "\(Int64(Date().timeIntervalSince1970 * 1000) - 1)"
                let stale = NATSMessage(
                    subject: Ping(service: .inference).method.subject,
                    headers: headers,
                    payload: Array(try WireCoding.encode(Ping(service: .inference)))
                )
                await #expect(throws: (any Error).self) { _ = try await transport.request(stale, timeout: .milliseconds(300)) }
                #expect(counting.seen.withLock { $0.count } == handled)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    @Test func gracefulShutdownLetsAnInFlightRequestFinish() async throws {
        let transport = InMemoryTransport()
        let bus = MessageBus(transport: transport, source: EventSource(service: "test", instance: "t"))
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let responder = BusResponder(
            transport: transport,
            queue: "q",
            handlers: [SlowPing(started: startedContinuation, release: release)],
            logger: self.logger
        )
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await responder.run() }
                #expect(try await eventually { transport.hasSubscriber(for: "gatehouse.v1.rpc.access.ping") })
                group.addTask {
                    let reply = try await bus.request(Ping(service: .access), timeout: .seconds(10))
                    #expect(reply.instance == "slow")
                }
                for await _ in started { break }
                trigger.triggerGracefulShutdown()  // SIGTERM arrives while the request runs
                releaseContinuation.yield()
                try await group.waitForAll()  // the request got its reply, then the responder returned
            }
        }
    }

    @Test func durablePublishIsDeduplicatedByEventID() async throws {
        let transport = InMemoryTransport()
        let bus = MessageBus(transport: transport, source: EventSource(service: .identity, instance: "i"))
        let event = try await bus.publish(ServiceStarted(service: .identity, version: "1", instance: "i"), tenant: .operator)
        try await bus.publish(event)
        #expect(transport.durableMessages.count == 1)
        #expect(transport.durableMessages.first?.subject == event.natsSubject)
        #expect(transport.durableMessages.first?.headers[WireHeaders.traceparent] != nil)
    }

    @Test func outgoingTraceContinuesTheCurrentTrace() {
        let parent = TraceParent.root()
        let outgoing = TraceContext.$current.withValue(parent) { TraceContext.outgoing() }
        #expect(outgoing.traceID == parent.traceID)
        #expect(outgoing.parentID != parent.parentID)
    }

    @Test(arguments: [
        ("gatehouse.v1.evt.*.system.>", "gatehouse.v1.evt.t.system.service_started", true),
        ("a.*", "a.b.c", false), ("a.>", "a", false), ("a.b", "a.b", true),
    ])
    func subjectMatching(pattern: String, subject: String, matches: Bool) {
        #expect(InMemoryTransport.matches(pattern, subject) == matches)
    }
}

@Suite struct DeadlineTests {
    @Test func returnsTheResultInTime() async throws {
        #expect(try await abandoning(after: .seconds(5)) { 42 } == 42)
    }

    @Test func stopsWaitingForWorkThatIgnoresCancellation() async throws {
        let start = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await abandoning(after: .milliseconds(100)) {
                // Deaf to cancellation, like the postgres-nio query it stands for.
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 3) { continuation.resume() }
                }
            }
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func passesErrorsThrough() async {
        await #expect(throws: WireError(code: .conflict, message: "")) {
            try await abandoning(after: .seconds(5)) { throw WireError(code: .conflict, message: "x") }
        }
    }
}
