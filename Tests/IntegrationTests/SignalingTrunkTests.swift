import Foundation
import GatehouseNATS
import GatehouseSIP
import GatehouseWire
import IdentityService
import NIOCore
import NIOPosix
import NIOSSL
import ServiceKitTesting
import SignalingService
import Testing

/// External numbers of a ring plan, called through the outbound trunk: sipp plays the carrier,
/// which challenges the INVITE and checks the digest, the number and the caller id.
extension SignalingRegistrarTests {
    static let trunkUser = "gatehouse-trunk"
    static let trunkPassword = "trunk-secret-1"
    static let externalNumber = "+491701234567"

    /// Runs `body` with signaling's trunk at `localhost:<port>` (a name, so it is resolved), the
    /// test's credentials and caller id, and the site's only fallback the external number.
    func withTrunk(
        password: String = Self.trunkPassword,
        transport: SIPTransportKind = .udp,
        _ body: @Sendable (Context, Int) async throws -> Void
    ) async throws {
        let port = Int.random(in: 30_000..<35_000)
        var trunk = SignalingConfiguration.Trunk(host: "localhost", port: port, username: Self.trunkUser, password: password, callerId: "+4930111222")
        trunk.transport = transport
        try await self.withTrunk(trunk) { context in try await body(context, port) }
    }

    /// Runs `body` with `trunk` as signaling's trunk and the site's only fallback the external number.
    func withTrunk(_ trunk: SignalingConfiguration.Trunk, _ body: @Sendable (Context) async throws -> Void) async throws {
        try await self.withSignaling(configure: { $0.trunk = trunk }) { context in
            try await DeviceStore(client: context.postgres).setFallbacks(
                tenant: context.tenant,
                site: context.site,
                building: nil,
                [.init(position: 1, number: Self.externalNumber, ringSeconds: 10)],
                logger: self.logger
            )
            try await body(context)
        }
    }

    /// The carrier: `deploy/sipp/trunk-answers.xml` with its credentials filled in.
    func carrier(_ context: Context, port: Int, transport: SIPTransportKind = .udp) async throws -> Task<ToolRun, any Error> {
        let scenario = try Self.scenario("trunk-answers").replacing("[field0]", with: Self.trunkUser).replacing("[field1]", with: Self.trunkPassword)
        // sipp checks the digest against `-auth_uri` when given: the Request-URI we send.
        let stream = transport != .udp
        let uri = "\(Self.externalNumber)@localhost:\(port);user=phone" + (stream ? ";transport=tcp" : "")
        let task = Task {
            try await self.sipp(context, scenario: scenario, users: [["carrier"]], transport: stream ? "t1" : "u1", localPort: port, authURI: uri)
        }
        #expect(try await eventually { stream ? Self.listeningTCP(port) : Self.listeningUDP(port) })
        return task
    }

    /// Whether something listens on TCP `port` (from /proc/net/tcp, state 0A), polled instead of sleeping.
    static func listeningTCP(_ port: Int) -> Bool {
        let hex = String(format: ":%04X ", port)
        return ((try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? "").split(separator: "\n").contains {
            $0.contains(hex) && $0.contains(" 0A ")
        }
    }

    @Test func nobodyInTheUnitIsRegisteredSoTheTrunkCallsTheExternalNumberAfterItsChallenge() async throws {
        try await self.callsTheExternalNumber(over: .udp)
    }

    @Test func theTrunkIsReachedOverTCPOnAConnectionSignalingOpens() async throws {
        try await self.callsTheExternalNumber(over: .tcp)
    }

    /// A door station calls 101, nobody there is registered, the site's fallback is an external
    /// number: the carrier (sipp over `transport`) challenges, checks and answers; the events tell.
    func callsTheExternalNumber(over transport: SIPTransportKind) async throws {
        try await self.withTrunk(transport: transport) { context, port in
            try await self.collectingEvents(context, domain: "signaling") { seen in
                let carrier = try await self.carrier(context, port: port, transport: transport)
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

/// The trunk over TLS: a SwiftNIO TLS server with an openssl-made certificate plays the carrier
/// (sipp here is built without TLS) and turns the call down busy.
extension SignalingRegistrarTests {
    @Test func theTrunkIsReachedOverTLSCheckedAgainstItsCertificate() async throws {
        try await self.withCertificate { certificate, key, _ in
            let tls = try NIOSSLContext(
                configuration: TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
                )
            )
            let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            let port = try #require(server.channel.localAddress?.port)
            var trunk = SignalingConfiguration.Trunk(host: "localhost", port: port)
            trunk.transport = .tls
            trunk.caFile = certificate
            try await self.withTrunk(trunk) { context in
                let door = Task { try await self.doorCallExpecting(context, "101", final: 486) }
                // The carrier: the INVITE arrives over TLS (the handshake checked our trust in its
                // certificate for "localhost"), and is answered 486 Busy Here.
                let invite = try await server.executeThenClose { connections -> SIPRequest? in
                    for try await connection in connections {
                        return try await connection.executeThenClose { inbound, outbound -> SIPRequest? in
                            var chunks = inbound.makeAsyncIterator()
                            var buffer: [UInt8] = []
                            var invite: SIPRequest?
                            reading: while let chunk = try await chunks.next() {
                                buffer += chunk.readableBytesView
                                while case .message(.request(let request), let consumed) = try SIPParser().frame(buffer) {
                                    buffer.removeFirst(consumed)
                                    if request.method == .ack { break reading }  // ours, for the 486: done
                                    invite = request
                                    let busy = SIPResponse(status: 486, replyingTo: request.headers, toTag: "carrier1")
                                    try await outbound.write(ByteBuffer(bytes: SIPMessage.response(busy).serialized()))
                                }
                            }
                            return invite
                        }
                    }
                    return nil
                }
                #expect(invite?.method == .invite)
                #expect(invite?.headers.topVia?.transport == "TLS")
                #expect(invite?.uri.description == "sip:\(Self.externalNumber)@localhost:\(port);user=phone;transport=tls")
                let call = try await door.value
                #expect(call.status == 0, "\(call.output)")
            }
        }
    }
}
