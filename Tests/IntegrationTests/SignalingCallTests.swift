import DoorSimulator
import Foundation
import GatehouseNATS
import GatehouseWire
import ServiceKitTesting
import SignalingService
import Testing

/// Calls through the forking proxy, with sipp as the door station and as the residents' phones.
extension SignalingRegistrarTests {
    static func scenario(_ name: String) throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/sipp/\(name).xml")
        return try String(contentsOf: file, encoding: .utf8)
    }

    /// Whether something listens on UDP `port` (from /proc/net/udp), polled instead of sleeping.
    static func listeningUDP(_ port: Int) -> Bool {
        let hex = String(format: ":%04X ", port)
        return ((try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8)) ?? "").contains(hex)
    }

    /// Registers `device` from `port` and then runs `scenario` as that device on the same port.
    func phone(_ context: Context, _ device: Device, port: Int, scenario: String) async throws -> Task<ToolRun, any Error> {
        try await self.phone(context, device, port: port, script: try Self.scenario(scenario))
    }

    /// Registers `device` from `port` and then runs the sipp scenario `script` on the same port.
    func phone(_ context: Context, _ device: Device, port: Int, script: String) async throws -> Task<ToolRun, any Error> {
        let registered = try await self.sipp(
            context,
            scenario: SIPScenarios.register(expires: 300, final: 200),
            users: [self.account(context, device)],
            localPort: port
        )
        #expect(registered.status == 0, "\(registered.output)")
        let task = Task { try await self.sipp(context, scenario: script, users: [[device.username]], localPort: port) }
        #expect(try await eventually { Self.listeningUDP(port) })
        return task
    }

    /// Runs `body` while every event of the test tenant's `domain` (`signaling`, `access`) is
    /// collected into `seen`, subscribed before `body` starts.
    func collectingEvents(_ context: Context, domain: String, _ body: @Sendable (Received) async throws -> Void) async throws {
        let events = try await context.nats.subscribe(to: "gatehouse.v1.evt.\(context.tenant).\(domain).>")
        let seen = Received()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await message in events { seen.withLock { $0.append(message) } } }
            defer { group.cancelAll() }
            try await context.nats.flush()
            try await body(seen)
        }
    }

    func doorCalls(_ context: Context, _ number: String) async throws -> ToolRun {
        let station = context.station
        return try await self.sipp(
            context,
            scenario: try Self.scenario("door-call"),
            users: [self.account(context, station) + [number]],
            authURI: "\(number)@\(context.domain)"
        )
    }

    @Test func aDoorStationCallsUnit101AndTheResidentsPhoneAnswers() async throws {
        try await self.withSignaling { context in
            try await self.collectingEvents(context, domain: "signaling") { seen in
                let port = Int.random(in: 20_000..<30_000)
                let phone = try await self.phone(context, context.phone, port: port, scenario: "resident-answers")
                let call = try await self.doorCalls(context, "101")
                #expect(call.status == 0, "\(call.output)")
                let answered = try await phone.value
                #expect(answered.status == 0, "\(answered.output)")
                // The call as integrators and the audit log see it.
                let expected = [CallStarted.eventType, CallRinging.eventType, CallAnswered.eventType, CallEnded.eventType].map(\.type)
                #expect(try await eventually { seen.withLock { $0.count } >= expected.count })
                let headers = try seen.withLock { $0 }.map { try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)) }
                #expect(headers.map(\.type) == expected)
                #expect(Set(headers.compactMap(\.context.callid)).count == 1)
                let answer = try seen.withLock { $0 }.first { $0.subject.hasSuffix(".call_answered") }.map {
                    try WireCoding.decode(CloudEvent<CallAnswered>.self, from: Data($0.payload))
                }
                #expect(answer?.data.deviceId == context.phone.id && answer?.context.personid != nil)
                let ended = try seen.withLock { $0 }.last.map { try WireCoding.decode(CloudEvent<CallEnded>.self, from: Data($0.payload)) }
                #expect(ended?.data.reason == .completed && (ended?.data.durationSeconds ?? -1) >= 0)
            }
        }
    }

    /// sipp steps that receive an INFO inside the dialog and answer it 200.
    static let answersInfo = """
          <recv request="INFO"/>
          <send>
            <![CDATA[
              SIP/2.0 200 OK
              [last_Via:]
              [last_From:]
              [last_To:]
              [last_Call-ID:]
              [last_CSeq:]
              Content-Length: 0

            ]]>
          </send>

        """

    /// The door station's side of a call in which the resident presses the door-open key: it
    /// answers the INFO, then hangs up.
    func doorCallAnsweringInfo(_ context: Context, _ number: String) async throws -> ToolRun {
        var scenario = try Self.scenario("door-call")
        let pause = scenario.range(of: "  <pause milliseconds=\"200\"/>")!
        scenario.insert(contentsOf: Self.answersInfo, at: pause.lowerBound)
        return try await self.sipp(
            context,
            scenario: scenario,
            users: [self.account(context, context.station) + [number]],
            authURI: "\(number)@\(context.domain)"
        )
    }

    @Test func theResidentPressesTheDoorOpenKeyDuringTheCallAndTheDoorOpens() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                try await self.collectingEvents(context, domain: "access") { seen in
                    let phone = try await self.phone(context, context.phone, port: Int.random(in: 20_000..<30_000), scenario: "resident-opens-door")
                    let call = try await self.doorCallAnsweringInfo(context, "101")
                    #expect(call.status == 0, "\(call.output)")
                    let answered = try await phone.value
                    #expect(answered.status == 0, "\(answered.output)")
                    // The 2N API of the station was told to trigger relay 2, once.
                    #expect(try await eventually { simulator.triggers.count == 1 })
                    #expect(simulator.triggers.map(\.api) == ["2n"] && simulator.triggers.map(\.relay) == [2])
                    // The decision and the opening, as the audit log and integrators see them.
                    #expect(try await eventually { seen.withLock { $0.count } >= 2 })
                    let messages = seen.withLock { $0 }
                    #expect(messages.map(\.subject).map { $0.split(separator: ".").last.map(String.init) } == ["decision_made", "door_unlocked"])
                    let decision = try WireCoding.decode(CloudEvent<AccessDecisionMade>.self, from: Data(messages[0].payload))
                    #expect(decision.data.granted && decision.data.reason == .resident && decision.data.channel == .call)
                    let unlocked = try WireCoding.decode(CloudEvent<DoorUnlocked>.self, from: Data(messages[1].payload))
                    #expect(unlocked.data.command.callId != nil && unlocked.data.command.callId == decision.data.callId)
                    #expect(unlocked.data.command.personId == decision.data.personId && unlocked.data.command.personId != nil)
                    #expect(unlocked.data.command.adapter == "2n" && unlocked.data.command.relay == 2)
                }
            }
        }
    }

    @Test func aStationStyleActionBuzzMessageOpensTheDoorToo() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                // The resident's app sends `Action: buzz` in a MESSAGE instead of a key press.
                let buzz = try Self.scenario("resident-opens-door")
                    .replacing("INFO [next_url]", with: "MESSAGE [next_url]")
                    .replacing("CSeq: 1 INFO", with: "CSeq: 1 MESSAGE")
                    .replacing("Content-Type: application/dtmf-relay", with: "Content-Type: text/plain")
                    .replacing("Signal=#\n      Duration=160", with: "Action: buzz")
                #expect(
                    buzz.contains("MESSAGE [next_url]") && buzz.contains("Action: buzz") && !buzz.contains("Content-Type: application/dtmf-relay")
                )
                let phone = try await self.phone(context, context.phone, port: Int.random(in: 20_000..<30_000), script: buzz)
                var station = try Self.scenario("door-call")
                let pause = station.range(of: "  <pause milliseconds=\"200\"/>")!
                station.insert(
                    contentsOf: Self.answersInfo.replacing("<recv request=\"INFO\"/>", with: "<recv request=\"MESSAGE\"/>"),
                    at: pause.lowerBound
                )
                let call = try await self.sipp(
                    context,
                    scenario: station,
                    users: [self.account(context, context.station) + ["101"]],
                    authURI: "101@\(context.domain)"
                )
                #expect(call.status == 0, "\(call.output)")
                #expect(try await phone.value.status == 0)
                #expect(try await eventually { simulator.triggers.count == 1 })
            }
        }
    }

    @Test func everyPhoneOfTheUnitRingsTheFirstToAnswerWinsTheOtherIsCancelled() async throws {
        try await self.withSignaling { context in
            let answering = try await self.phone(context, context.phone, port: Int.random(in: 20_000..<25_000), scenario: "resident-answers")
            let ringing = try await self.phone(context, context.bob, port: Int.random(in: 25_000..<30_000), scenario: "resident-rings")
            let call = try await self.doorCalls(context, "101")
            #expect(call.status == 0, "\(call.output)")
            #expect(try await answering.value.status == 0)
            let cancelled = try await ringing.value
            #expect(cancelled.status == 0, "\(cancelled.output)")
        }
    }

    @Test func nobodyAnswersInTheUnitSoTheConciergeRings() async throws {
        try await self.withSignaling { context in
            // Bob's phone rings out (5 s), then the site's fallback, the concierge's desk, answers.
            let ringing = try await self.phone(context, context.bob, port: Int.random(in: 20_000..<25_000), scenario: "resident-rings")
            let desk = try await self.phone(context, context.desk, port: Int.random(in: 25_000..<30_000), scenario: "resident-answers")
            let call = try await self.doorCalls(context, "101")
            #expect(call.status == 0, "\(call.output)")
            #expect(try await ringing.value.status == 0)
            #expect(try await desk.value.status == 0)
        }
    }

    @Test func anInviteLostOnTheWayToAPhoneIsSentAgain() async throws {
        try await self.withSignaling { context in
            // The phone registers, but nothing listens on its port when the INVITE first goes out.
            let port = Int.random(in: 20_000..<30_000)
            let registered = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 300, final: 200),
                users: [self.account(context, context.phone)],
                localPort: port
            )
            #expect(registered.status == 0, "\(registered.output)")
            let call = Task { try await self.doorCalls(context, "101") }
            #expect(try await eventually { context.server.activeCallBranches > 0 })
            // Now the phone is there; only a retransmission (Timer A) can reach it.
            let scenario = try Self.scenario("resident-answers")
            let phone = try await self.sipp(context, scenario: scenario, users: [[context.phone.username]], localPort: port)
            #expect(phone.status == 0, "\(phone.output)")
            #expect(try await call.value.status == 0)
        }
    }

    @Test func aCallToANumberNobodyCanAnswerGetsAFinalAnswer() async throws {
        try await self.withSignaling { context in
            // Nobody registered at all: unit, building and site steps are all empty.
            let unknown = try await self.doorCallExpecting(context, "999", final: 404)
            #expect(unknown.status == 0, "\(unknown.output)")
            let nobody = try await self.doorCallExpecting(context, "101", final: 480)
            #expect(nobody.status == 0, "\(nobody.output)")
        }
    }

    /// A door-call scenario that ends at the INVITE's final answer `final` (and its ACK).
    static func callExpecting(final: Int) throws -> String {
        var scenario = try Self.scenario("door-call")
        let cut = scenario.range(of: "  <recv response=\"100\" optional=\"true\"/>\n  <recv response=\"180\" optional=\"true\"/>")!
        scenario =
            String(scenario[..<cut.lowerBound]) + """
                  <recv response="100" optional="true"/>
                  <recv response="\(final)"/>
                  <send>
                    <![CDATA[
                      ACK sip:[field3]@[field1] SIP/2.0
                      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
                      From: <sip:[field0]@[field1]>;tag=[pid]SIPpTag09[call_number]
                      To: <sip:[field3]@[field1]>[peer_tag_param]
                      Call-ID: [call_id]
                      CSeq: 2 ACK
                      Max-Forwards: 70
                      Content-Length: 0

                    ]]>
                  </send>
                </scenario>

                """
        return scenario
    }

    /// The door call scenario cut after the authenticated INVITE, expecting `final`.
    func doorCallExpecting(_ context: Context, _ number: String, final: Int) async throws -> ToolRun {
        let scenario = try Self.callExpecting(final: final)
        let station = context.station
        return try await self.sipp(
            context,
            scenario: scenario,
            users: [self.account(context, station) + [number]],
            authURI: "\(number)@\(context.domain)"
        )
    }
}
