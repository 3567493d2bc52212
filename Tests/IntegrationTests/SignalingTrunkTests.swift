import Foundation
import GatehouseNATS
import GatehouseWire
import IdentityService
import ServiceKitTesting
import SignalingService
import Testing

/// External numbers of a ring plan, called through the outbound trunk: sipp plays the carrier,
/// which challenges the INVITE and checks the digest, the number and the caller id.
extension SignalingRegistrarTests {
    static let trunkUser = "gatehouse-trunk"
    static let trunkPassword = "trunk-secret-1"
    static let externalNumber = "+491701234567"

    /// Runs `body` with signaling's trunk at `localhost:<port>` (a name, so it is resolved) and the
    /// site's only fallback the external number.
    func withTrunk(password: String = Self.trunkPassword, _ body: @Sendable (Context, Int) async throws -> Void) async throws {
        let port = Int.random(in: 30_000..<35_000)
        try await self.withSignaling(configure: { configuration in
            configuration.trunk = SignalingConfiguration.Trunk(
                host: "localhost",
                port: port,
                username: Self.trunkUser,
                password: password,
                callerId: "+4930111222"
            )
        }) { context in
            try await DeviceStore(client: context.postgres).setFallbacks(
                tenant: context.tenant,
                site: context.site,
                building: nil,
                [.init(position: 1, number: Self.externalNumber, ringSeconds: 10)],
                logger: self.logger
            )
            try await body(context, port)
        }
    }

    /// The carrier: `deploy/sipp/trunk-answers.xml` with its credentials filled in.
    func carrier(_ context: Context, port: Int) async throws -> Task<ToolRun, any Error> {
        let scenario = try Self.scenario("trunk-answers").replacing("[field0]", with: Self.trunkUser).replacing("[field1]", with: Self.trunkPassword)
        // sipp checks the digest against `-auth_uri` when given: the Request-URI we send.
        let uri = "\(Self.externalNumber)@localhost:\(port);user=phone"
        let task = Task { try await self.sipp(context, scenario: scenario, users: [["carrier"]], localPort: port, authURI: uri) }
        #expect(try await eventually { Self.listeningUDP(port) })
        return task
    }

    @Test func nobodyInTheUnitIsRegisteredSoTheTrunkCallsTheExternalNumberAfterItsChallenge() async throws {
        try await self.withTrunk { context, port in
            try await self.collectingEvents(context, domain: "signaling") { seen in
                let carrier = try await self.carrier(context, port: port)
                // The door station sees its own CSeq numbers, though the carrier saw higher ones.
                var scenario = try Self.scenario("door-call")
                scenario = scenario.replacing(
                    "<recv response=\"200\" rrs=\"true\" rtd=\"true\"/>",
                    with: """
                        <recv response="200" rrs="true" rtd="true">
                            <action><ereg regexp="(^| )2 INVITE" search_in="hdr" header="CSeq:" check_it="true" assign_to="checked"/></action>
                          </recv>
                        """
                )
                scenario = scenario.replacing(
                    "  <recv response=\"200\"/>\n</scenario>",
                    with: """
                          <recv response="200">
                            <action><ereg regexp="(^| )3 BYE" search_in="hdr" header="CSeq:" check_it="true" assign_to="checked"/></action>
                          </recv>
                        </scenario>
                        """
                )
                let call = try await self.sipp(
                    context,
                    scenario: scenario,
                    users: [self.account(context, context.station) + ["101"]],
                    authURI: "101@\(context.domain)"
                )
                #expect(call.status == 0, "\(call.output)")
                let answered = try await carrier.value
                #expect(answered.status == 0, "\(answered.output)")
                let expected = [
                    CallStarted.eventType, CallFallback.eventType, CallRinging.eventType, CallAnsweredExternally.eventType, CallEnded.eventType,
                ].map(\.type)
                #expect(try await eventually { seen.withLock { $0.count } >= expected.count })
                let messages = seen.withLock { $0 }
                let headers = try messages.map { try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)) }
                #expect(headers.map(\.type) == expected)
                let ringing = try messages.first { $0.subject.hasSuffix(".call_ringing") }.map {
                    try WireCoding.decode(CloudEvent<CallRinging>.self, from: Data($0.payload))
                }
                #expect(ringing?.data.stepKind == .external && ringing?.data.step == 1)
                let answer = try messages.first { $0.subject.hasSuffix(".call_answered_externally") }.map {
                    try WireCoding.decode(CloudEvent<CallAnsweredExternally>.self, from: Data($0.payload))
                }
                #expect(answer?.data.number == Self.externalNumber && answer?.data.step == 1)
                let ended = try messages.last.map { try WireCoding.decode(CloudEvent<CallEnded>.self, from: Data($0.payload)) }
                #expect(ended?.data.reason == .completed)
            }
        }
    }

    @Test func aWrongTrunkPasswordIsRefusedByTheCarrierAndTheDoorStationHearsIt() async throws {
        try await self.withTrunk(password: "not-the-password") { context, port in
            let carrier = try await self.carrier(context, port: port)
            let call = try await self.doorCallExpecting(context, "101", final: 403)
            #expect(call.status == 0, "\(call.output)")
            // The carrier's check failed: the digest it verified was not made with its password.
            #expect(try await carrier.value.status != 0)
        }
    }
}
