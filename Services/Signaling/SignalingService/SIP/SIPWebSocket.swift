import GatehouseSIP
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// SIP over WebSocket (RFC 7118), as browser clients (JsSIP, SIP.js) speak it: an HTTP/1.1
/// upgrade offering the `sip` subprotocol, then one SIP message per text or binary frame.
extension SIPTransportLayer {
    /// The pipeline of an accepted WS/WSS connection (after TLS for WSS): the connection is
    /// counted against the limits from the start, an HTTP request without a `sip` WebSocket
    /// upgrade is answered 426 and closed, and an upgraded connection carries SIP.
    func configureWebSocket(_ channel: any Channel, transport: SIPTransportKind, sink: some SIPMessageSink) throws {
        let messageBytes = self.configuration.limits.messageBytes
        let parser = self.parser
        let gate = SIPWebSocketGate()
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: messageBytes,
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                // RFC 7118 §4.1: the client offers "sip"; the answer names it. No offer, no upgrade.
                let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }
                guard offered.contains(where: { $0.lowercased().filter { $0 != " " && $0 != "\t" } == "sip" }) else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", "sip")]))
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    // A message may come in fragments; together they are held to the message limit.
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 1,
                            maxAccumulatedFrameCount: 64,
                            maxAccumulatedFrameSize: messageBytes
                        )
                    )
                    try channel.pipeline.syncOperations.addHandler(SIPWebSocketHandler(transport: transport, parser: parser, sink: sink))
                }
            }
        )
        try channel.pipeline.syncOperations.addHandler(SIPConnectionTracker(transport: transport, connections: self))
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                completionHandler: { context in context.pipeline.syncOperations.removeHandler(gate, promise: nil) }
            )
        )
        try channel.pipeline.syncOperations.addHandler(gate)
    }
}

/// Answers an HTTP request that is not a WebSocket upgrade to `sip`: 426, then closes. Holds no
/// state, so the upgrade's completion can remove it.
final class SIPWebSocketGate: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = self.unwrapInboundIn(data) else { return }
        let body = "This is a SIP over WebSocket endpoint (RFC 7118): upgrade with Sec-WebSocket-Protocol: sip.\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Sec-WebSocket-Protocol", value: "sip")
        context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .upgradeRequired, headers: headers))), promise: nil)
        context.write(self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// SIP on an upgraded WebSocket: each text or binary frame is one message (RFC 7118 §5.2); what
/// the transport layer writes (a serialized message) leaves as one frame, text when it is UTF-8,
/// binary otherwise. Pings are answered, a close is echoed.
final class SIPWebSocketHandler<Sink: SIPMessageSink>: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    let transport: SIPTransportKind
    let parser: SIPParser
    let sink: Sink
    var peer: SIPPeer?
    var closing = false

    init(transport: SIPTransportKind, parser: SIPParser, sink: Sink) {
        self.transport = transport
        self.parser = parser
        self.sink = sink
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.peer = context.remoteAddress.map { SIPPeer(transport: self.transport, address: $0) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            guard let peer = self.peer else { return }
            let bytes = Array(frame.unmaskedData.readableBytesView)
            // Keep-alives some clients send as a frame of line breaks.
            if bytes.allSatisfy({ $0 == 0x0D || $0 == 0x0A }) { return }
            do throws(SIPParseError) {
                self.sink.received(.success(try self.parser.parse(datagram: bytes)), from: peer)
            } catch {
                self.sink.received(.failure(error), from: peer)
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(self.wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            guard !self.closing else {
                context.close(promise: nil)
                return
            }
            self.closing = true
            var status = frame.unmaskedData
            let echo = WebSocketFrame(fin: true, opcode: .connectionClose, data: status.readSlice(length: min(2, status.readableBytes)) ?? status)
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(echo)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = self.unwrapOutboundIn(data)
        let text = String(validating: message.readableBytesView, as: UTF8.self) != nil
        context.write(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: text ? .text : .binary, data: message)), promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
