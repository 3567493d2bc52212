import Foundation
import GatehouseAuth
import GatehouseSIP
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceKitTesting
import SignalingService
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// SIP over WebSocket (RFC 7118) with SwiftNIO's WebSocket client speaking as a browser phone
/// (JsSIP's messages: a `.invalid` host in Via and Contact, `transport=ws`, outbound parameters).
extension SignalingRegistrarTests {
    enum WebSocketUpgrade {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused
    }

    /// Opens a WebSocket to signaling offering `subprotocol`, over TLS when `tls` is given.
    static func webSocket(port: Int, subprotocol: String, tls: NIOSSLContext? = nil) async throws -> WebSocketUpgrade {
        let upgrade: EventLoopFuture<WebSocketUpgrade> = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: "localhost")) }
                    let upgrader = NIOTypedWebSocketClientUpgrader<WebSocketUpgrade>(upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .upgraded(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                        }
                    })
                    var headers = HTTPHeaders()
                    headers.add(name: "Host", value: "127.0.0.1:\(port)")
                    headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
                    headers.add(name: "Content-Length", value: "0")
                    let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                        upgradeRequestHead: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers),
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in channel.eventLoop.makeCompletedFuture { .refused } }
                    )
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: .init(upgradeConfiguration: configuration)
                    )
                }
            }
        return try await upgrade.get()
    }

    /// A browser phone on one WebSocket: sends messages as masked text frames, reads SIP messages
    /// (and pongs) from the frames that arrive.
    struct BrowserPhone {
        var frames: NIOAsyncChannelInboundStream<WebSocketFrame>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>
        let device: Device
        let domain: String
        /// The `.invalid` host JsSIP makes up for Via and Contact.
        let host = "\(UUID().uuidString.prefix(12).lowercased()).invalid"
        var contact: String { "sip:\(self.device.username)@\(self.host);transport=ws" }

        func send(_ text: String) async throws {
            try await self.outbound.write(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text)))
        }

        func send(_ message: SIPMessage) async throws {
            try await self.send(String(decoding: message.serialized(), as: UTF8.self))
        }

        /// The next frame of `opcode` (the suite's time limit bounds the wait).
        mutating func next(_ opcode: WebSocketOpcode = .text) async throws -> WebSocketFrame? {
            while let frame = try await self.frames.next(isolation: #isolation) {
                if frame.opcode == opcode { return frame }
            }
            return nil
        }

        mutating func nextMessage() async throws -> SIPMessage? {
            guard let frame = try await self.next() else { return nil }
            return try SIPParser().parse(datagram: Array(frame.unmaskedData.readableBytesView))
        }

        func register(cseq: Int, authorization: String?) -> SIPMessage {
            var headers = SIPHeaders()
            headers.add(.via, "SIP/2.0/WS \(self.host);branch=z9hG4bK\(UUID().uuidString.prefix(10).lowercased())")
            headers.add(.maxForwards, "69")
            headers.add(.to, "<sip:\(self.device.username)@\(self.domain)>")
            headers.add(.from, "\"Ada\" <sip:\(self.device.username)@\(self.domain)>;tag=ws\(cseq)")
            headers.add(.callID, "ws-\(self.device.username)-\(self.host)")
            headers.add(.cseq, "\(cseq) REGISTER")
            headers.add(
                .contact,
                "<\(self.contact)>;+sip.ice;reg-id=1;+sip.instance=\"<urn:uuid:6b5a1c58-8a36-4bb0-9a1b-2d1c3a3f9e10>\";expires=600"
            )
            headers.add(.expires, "600")
            headers.add("Allow", "INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY")
            headers.add("Supported", "path,gruu,outbound")
            headers.add("User-Agent", "JsSIP 3.10.0")
            if let authorization { headers.add(.authorization, authorization) }
            return .request(SIPRequest(method: .register, uri: SIPURI("sip:\(self.domain)")!, headers: headers))
        }

        /// The phone's answer to an INVITE it received: Record-Route copied, our Contact on it.
        func answer(_ invite: SIPRequest, status: Int, tag: String) -> SIPMessage {
            var response = SIPResponse(status: status, replyingTo: invite.headers, toTag: tag)
            for route in invite.headers.values(.recordRoute) { response.headers.add(.recordRoute, route) }
            response.headers.add(.contact, "<\(self.contact)>")
            return .response(response)
        }
    }

    @Test func aBrowserPhoneRegistersOverWebSocketAndAnswersTheDoor() async throws {
        try await self.withSignaling(configure: { $0.wsPort = 0 }) { context in
            let port = try #require(context.server.addresses?.ws?.port)
            // Plain HTTP and a WebSocket for another subprotocol are not SIP: 426, no upgrade.
            let (_, plain) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/")!)
            #expect((plain as? HTTPURLResponse)?.statusCode == 426)
            guard case .refused = try await Self.webSocket(port: port, subprotocol: "chat") else {
                Issue.record("a WebSocket without the sip subprotocol was upgraded")
                return
            }
            guard case .upgraded(let channel) = try await Self.webSocket(port: port, subprotocol: "sip") else {
                Issue.record("the sip WebSocket was refused")
                return
            }
            try await channel.executeThenClose { inbound, outbound in
                var phone = BrowserPhone(frames: inbound.makeAsyncIterator(), outbound: outbound, device: context.phone, domain: context.domain)
                // Pings are ponged with their payload.
                try await outbound.write(WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer(string: "hi")))
                let pong = try await phone.next(.pong)
                #expect(pong.map { String(buffer: $0.unmaskedData) } == "hi")

                // REGISTER, challenged, then bound to this connection.
                try await phone.send(phone.register(cseq: 1, authorization: nil))
                let challenge = try await phone.nextMessage()
                let authorization = Self.answer(challenge, device: context.phone, domain: context.domain, algorithm: .md5)
                #expect(authorization != nil, "\(String(describing: challenge))")
                try await phone.send(phone.register(cseq: 2, authorization: authorization))
                guard case .response(let registered) = try await phone.nextMessage() else {
                    Issue.record("no answer to the REGISTER")
                    return
                }
                #expect(registered.status == 200 && registered.headers.values(.contact).contains { $0.contains(phone.host) })
                let bindings = try await context.server.store.bindings(tenant: context.tenant, device: context.phone.id, logger: self.logger)
                #expect(bindings.map(\.transport) == ["WS"])

                // The door station (sipp over UDP) calls 101: the INVITE reaches the browser over its WebSocket.
                let door = Task { try await self.doorCalls(context, "101") }
                guard case .request(let invite) = try await phone.nextMessage(), invite.method == .invite else {
                    Issue.record("the phone was not called")
                    return
                }
                #expect(invite.uri.description == phone.contact)
                #expect(invite.headers.topVia?.transport == "WS")
                // Two Record-Routes across transports (RFC 5658): our WebSocket side on top, then UDP.
                let routes = invite.headers.values(.recordRoute)
                #expect(routes == ["<sip:127.0.0.1:\(port);transport=ws;lr>", "<sip:127.0.0.1:\(context.udpPort);lr>"], "\(routes)")
                try await phone.send(phone.answer(invite, status: 180, tag: "browser1"))
                try await phone.send(phone.answer(invite, status: 200, tag: "browser1"))
                // The station's ACK and, after a moment of talk, its BYE come the same way.
                var methods: [SIPMethod] = []
                while methods.count < 2, case .request(let request) = try await phone.nextMessage() {
                    if request.method == .invite { continue }  // a retransmission crossing our answer
                    methods.append(request.method)
                    if request.method == .bye { try await phone.send(.response(SIPResponse(status: 200, replyingTo: request.headers, toTag: nil))) }
                }
                #expect(methods == [.ack, .bye])
                let call = try await door.value
                #expect(call.status == 0, "\(call.output)")
            }
        }
    }

    @Test func aBrowserPhoneRegistersOverSecureWebSocket() async throws {
        try await self.withCertificate { certificate, key, tls in
            try await self.withSignaling(configure: {
                $0.wssPort = 0
                $0.tlsCertificateFile = certificate
                $0.tlsKeyFile = key
            }) { context in
                let port = try #require(context.server.addresses?.wss?.port)
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
                guard
                    case .upgraded(let channel) = try await Self.webSocket(
                        port: port,
                        subprotocol: "sip",
                        tls: try NIOSSLContext(configuration: configuration)
                    )
                else {
                    Issue.record("the sip WebSocket was refused")
                    return
                }
                try await channel.executeThenClose { inbound, outbound in
                    var phone = BrowserPhone(frames: inbound.makeAsyncIterator(), outbound: outbound, device: context.station, domain: context.domain)
                    try await phone.send(phone.register(cseq: 1, authorization: nil))
                    let challenge = try await phone.nextMessage()
                    try await phone.send(
                        phone.register(
                            cseq: 2,
                            authorization: Self.answer(challenge, device: context.station, domain: context.domain, algorithm: .md5)
                        )
                    )
                    guard case .response(let registered) = try await phone.nextMessage() else {
                        Issue.record("no answer to the REGISTER")
                        return
                    }
                    #expect(registered.status == 200)
                    // The registrar's Date (RFC 3261 §20.17, IMF-fixdate) is now.
                    let formatter = DateFormatter()
                    formatter.locale = Locale(identifier: "en_US_POSIX")
                    formatter.timeZone = TimeZone(identifier: "GMT")
                    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
                    let date = try #require(registered.headers[.date].flatMap(formatter.date(from:)), "\(registered.headers)")
                    #expect(abs(date.timeIntervalSinceNow) < 60)
                    let bindings = try await context.server.store.bindings(tenant: context.tenant, device: context.station.id, logger: self.logger)
                    #expect(bindings.map(\.transport) == ["WSS"])
                }
            }
        }
    }
}
