import Foundation
import GatehouseSIP
import NIOCore
import NIOPosix
import ServiceKitTesting
import SignalingService
import Testing

/// RFC 3261 §17.2.1 over UDP: a non-2xx final to an INVITE is sent again until its ACK arrives.
extension SignalingRegistrarTests {
    @Test func aChallengeToAnInviteIsResentUntilItsACKArrives() async throws {
        try await self.withSignaling { context in
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                    }
                }
            let server = try SocketAddress(ipAddress: "127.0.0.1", port: context.udpPort)
            let local = try #require(channel.channel.localAddress?.port)
            let branch = "z9hG4bK-retrans-\(UUID().uuidString.prefix(8))"
            let common = [
                "Via: SIP/2.0/UDP 127.0.0.1:\(local);branch=\(branch);rport",
                "From: <sip:\(context.station.username)@\(context.domain)>;tag=st1",
                "Call-ID: retrans-\(branch)@127.0.0.1",
                "Max-Forwards: 70",
            ]
            let invite =
                (["INVITE sip:101@\(context.domain) SIP/2.0"] + common + [
                    "To: <sip:101@\(context.domain)>", "CSeq: 1 INVITE", "Contact: <sip:\(context.station.username)@127.0.0.1:\(local)>",
                    "Content-Length: 0", "", "",
                ]).joined(separator: "\r\n")
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(string: invite)))
                var responses = inbound.makeAsyncIterator()
                var challenges: [SIPResponse] = []
                // 100 Trying, then the 407, then the same 407 again: we did not acknowledge it.
                while challenges.count < 2, let datagram = try await responses.next() {
                    guard case .response(let response) = try SIPParser().parse(datagram: Array(datagram.data.readableBytesView)) else { continue }
                    if response.status == 407 { challenges.append(response) }
                }
                #expect(challenges.count == 2)
                #expect(challenges.first.map { SIPMessage.response($0).serialized() } == challenges.last.map { SIPMessage.response($0).serialized() })
                #expect(context.server.finalsAwaitingAcknowledgement == 1)
                let toTag = try #require(challenges.first?.headers.to?.tag)
                let ack =
                    (["ACK sip:101@\(context.domain) SIP/2.0"] + common + [
                        "To: <sip:101@\(context.domain)>;tag=\(toTag)", "CSeq: 1 ACK", "Content-Length: 0", "", "",
                    ]).joined(separator: "\r\n")
                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(string: ack)))
                #expect(try await eventually { context.server.finalsAwaitingAcknowledgement == 0 })
            }
        }
    }
}

/// RFC 3261 §17.1.2.2 over UDP: our CANCEL to a branch that lost the race is sent again until
/// the phone answers it.
extension SignalingRegistrarTests {
    @Test func aCancelTheLosingPhoneDidNotAnswerIsSentAgain() async throws {
        try await self.withSignaling { context in
            // Bob's phone registers with sipp from a port this test then listens on itself.
            let port = Int.random(in: 25_000..<30_000)
            let registered = try await self.sipp(
                context,
                scenario: SIPScenarios.register(expires: 300, final: 200),
                users: [self.account(context, context.bob)],
                localPort: port
            )
            #expect(registered.status == 0, "\(registered.output)")
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
                    }
                }
            let answering = try await self.phone(context, context.phone, port: Int.random(in: 20_000..<25_000), scenario: "resident-answers")
            let call = Task { try await self.doorCalls(context, "101") }
            try await channel.executeThenClose { inbound, outbound in
                let proxy = try SocketAddress(ipAddress: "127.0.0.1", port: context.udpPort)
                func reply(_ status: Int, to request: SIPRequest) async throws {
                    var response = SIPResponse(status: status, replyingTo: request.headers, toTag: "bob1")
                    if status == 487 { response.headers.replace(.cseq, "\(request.headers.cseq?.number ?? 1) INVITE") }
                    try await outbound.write(
                        AddressedEnvelope(remoteAddress: proxy, data: ByteBuffer(bytes: SIPMessage.response(response).serialized()))
                    )
                }
                // Ringing, until the proxy cancels (Ada answered).
                var cancels: [SIPRequest] = []
                for try await datagram in inbound {
                    guard case .request(let request) = try SIPParser().parse(datagram: Array(datagram.data.readableBytesView)) else { continue }
                    if request.method == .invite, cancels.isEmpty { try await reply(180, to: request) }
                    // The first CANCEL goes unanswered, as if lost: the same CANCEL must come again.
                    if request.method == .cancel { cancels.append(request) }
                    if cancels.count == 2 { break }
                }
                #expect(cancels.count == 2)
                #expect(cancels.first?.headers.topVia?.branch != nil && cancels.first?.headers.topVia?.branch == cancels.last?.headers.topVia?.branch)
                #expect(cancels.last?.headers[.reason]?.contains("cause=200") == true)
                #expect(context.server.cancelsAwaitingAnswer == 1)
                let cancel = try #require(cancels.last)
                try await reply(200, to: cancel)
                try await reply(487, to: cancel)
                #expect(try await eventually { context.server.cancelsAwaitingAnswer == 0 })
            }
            #expect(try await call.value.status == 0)
            #expect(try await answering.value.status == 0)
        }
    }
}
