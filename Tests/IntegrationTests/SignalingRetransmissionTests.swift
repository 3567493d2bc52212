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
