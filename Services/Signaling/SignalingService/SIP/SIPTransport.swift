import GatehouseSIP
import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// The transports a SIP message travels over.
public enum SIPTransportKind: String, Sendable, Hashable, CaseIterable {
    case udp = "UDP"
    case tcp = "TCP"
    case tls = "TLS"
    case ws = "WS"
    case wss = "WSS"

    /// Whether the transport retransmits for us (no SIP retransmission timers then).
    public var isReliable: Bool { self != .udp }
}

/// The other end of a message: transport and address. For stream transports it names one
/// connection, which responses and requests to that device reuse (RFC 3261 §18.2.2, RFC 5626).
public struct SIPPeer: Sendable, Hashable, CustomStringConvertible {
    public var transport: SIPTransportKind
    public var address: SocketAddress

    public init(transport: SIPTransportKind, address: SocketAddress) {
        self.transport = transport
        self.address = address
    }

    /// The IP address as text.
    public var ip: String { self.address.ipAddress ?? "?" }
    public var port: Int { self.address.port ?? 0 }

    public var description: String { "\(self.transport.rawValue.lowercased()):\(self.ip):\(self.port)" }
}

/// The addresses the SIP listeners bound (ports chosen by the system when configured as 0).
package struct SIPListenAddresses: Sendable {
    package var udp: SocketAddress?
    package var tcp: SocketAddress?
    package var tls: SocketAddress?
    package var ws: SocketAddress?
    package var wss: SocketAddress?
}

/// Receives what the transports read.
protocol SIPMessageSink: Sendable {
    /// A message or the reason it could not be read, from `peer`.
    func received(_ result: Result<SIPMessage, SIPParseError>, from peer: SIPPeer)
}

/// The SIP listeners (UDP, TCP, TLS, WS, WSS) and the table of open connections, on SwiftNIO.
final class SIPTransportLayer: Sendable {
    typealias Bound = SIPListenAddresses

    struct Connections {
        var channels: [SIPPeer: any Channel] = [:]
        var perAddress: [String: Int] = [:]
    }

    let configuration: SignalingConfiguration
    let parser: SIPParser
    let logger: Logger
    private let group: any EventLoopGroup
    private let udp = Mutex<(any Channel)?>(nil)
    private let listeners = Mutex<[any Channel]>([])
    private let connections = Mutex(Connections())
    private let boundAddresses = Mutex<Bound?>(nil)
    /// Where messages read from connections we open go (set by ``start(sink:)``).
    private let outboundSink = Mutex<AnySink?>(nil)

    /// A sink of any type, for the handlers of connections opened after ``start(sink:)``.
    struct AnySink: SIPMessageSink {
        let base: any SIPMessageSink
        func received(_ result: Result<SIPMessage, SIPParseError>, from peer: SIPPeer) { self.base.received(result, from: peer) }
    }

    /// The listeners' addresses once bound.
    var bound: Bound? { self.boundAddresses.withLock { $0 } }

    init(configuration: SignalingConfiguration, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.parser = SIPParser(limits: .init(messageBytes: configuration.limits.messageBytes, headerFields: configuration.limits.headerFields))
        self.logger = logger
        self.group = group
    }

    /// Binds every configured listener and starts delivering to `sink`.
    func start(sink: some SIPMessageSink) async throws -> Bound {
        var bound = Bound()
        let configuration = self.configuration
        self.outboundSink.withLock { $0 = AnySink(base: sink) }
        if let port = configuration.udpPort {
            let parser = self.parser
            let channel = try await DatagramBootstrap(group: self.group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SIPDatagramHandler(parser: parser, sink: sink))
                    }
                }
                .bind(host: configuration.host, port: port).get()
            self.udp.withLock { $0 = channel }
            self.listeners.withLock { $0.append(channel) }
            bound.udp = channel.localAddress
        }
        if let port = configuration.tcpPort {
            let channel = try await self.listen(port: port, transport: .tcp, tls: nil, sink: sink)
            bound.tcp = channel.localAddress
        }
        if let port = configuration.wsPort {
            bound.ws = try await self.listen(port: port, transport: .ws, tls: nil, sink: sink).localAddress
        }
        if let certificateFile = configuration.tlsCertificateFile, let keyFile = configuration.tlsKeyFile {
            let certificates = try NIOSSLCertificate.fromPEMFile(certificateFile)
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            let tls = try NIOSSLContext(
                configuration: TLSConfiguration.makeServerConfiguration(
                    certificateChain: certificates.map { .certificate($0) },
                    privateKey: .privateKey(key)
                )
            )
            if let port = configuration.tlsPort {
                bound.tls = try await self.listen(port: port, transport: .tls, tls: tls, sink: sink).localAddress
            }
            if let port = configuration.wssPort {
                bound.wss = try await self.listen(port: port, transport: .wss, tls: tls, sink: sink).localAddress
            }
        }
        self.boundAddresses.withLock { [bound] in $0 = bound }
        return bound
    }

    private func listen(port: Int, transport: SIPTransportKind, tls: NIOSSLContext?, sink: some SIPMessageSink) async throws -> any Channel {
        let channel = try await ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    switch transport {
                    case .ws, .wss:
                        try self.configureWebSocket(channel, transport: transport, sink: sink)
                    case .udp, .tcp, .tls:
                        try self.configureStream(channel, transport: transport, sink: sink)
                    }
                }
            }
            .bind(host: self.configuration.host, port: port).get()
        self.listeners.withLock { $0.append(channel) }
        return channel
    }

    /// A connection of ours to `address` over TCP or TLS (the outbound trunk): the one already open,
    /// or a new one, read like an accepted one and reached through ``send(_:to:)`` as its peer. TLS
    /// checks the server's certificate against `tls` (the system's roots by default) for
    /// `serverHostname`.
    func connection(to address: SocketAddress, transport: SIPTransportKind, tls: NIOSSLContext?, serverHostname: String?) async throws -> SIPPeer {
        let peer = SIPPeer(transport: transport, address: address)
        if self.connections.withLock({ $0.channels[peer] != nil }) { return peer }
        guard let sink = self.outboundSink.withLock({ $0 }), transport == .tcp || transport == .tls else {
            throw ChannelError.operationUnsupported
        }
        let channel = try await ClientBootstrap(group: self.group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(3))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                    }
                    try self.configureStream(channel, transport: transport, sink: sink)
                }
            }
            .connect(to: address).get()
        // channelActive (which files the connection under its peer) runs on the channel's loop
        // in the same turn that completed the connect: one more turn there and it has run.
        try await channel.eventLoop.submit {}.get()
        guard self.connections.withLock({ $0.channels[peer] != nil }) else { throw ChannelError.ioOnClosedChannel }
        return peer
    }

    /// A TCP or TLS connection's handlers, accepted or opened: filed in the connection table, read as
    /// a framed SIP stream.
    func configureStream(_ channel: any Channel, transport: SIPTransportKind, sink: some SIPMessageSink) throws {
        try channel.pipeline.syncOperations.addHandler(SIPConnectionTracker(transport: transport, connections: self))
        try channel.pipeline.syncOperations.addHandler(SIPStreamHandler(transport: transport, parser: self.parser, sink: sink))
    }

    /// Closes every listener and connection.
    func stop() async {
        let channels = self.listeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners
        }
        let open = self.connections.withLock { Array($0.channels.values) }
        for channel in channels + open { try? await channel.close() }
    }

    /// Sends a message to `peer`: over UDP to its address, over a stream on its connection. Returns
    /// false when the connection is gone (a device behind NAT must then register again).
    @discardableResult
    func send(_ message: SIPMessage, to peer: SIPPeer) -> Bool {
        self.send(bytes: message.serialized(), to: peer)
    }

    @discardableResult
    func send(bytes: [UInt8], to peer: SIPPeer) -> Bool {
        switch peer.transport {
        case .udp:
            guard let channel = self.udp.withLock({ $0 }) else { return false }
            let buffer = channel.allocator.buffer(bytes: bytes)
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: peer.address, data: buffer), promise: nil)
            return true
        case .tcp, .tls, .ws, .wss:
            guard let channel = self.connections.withLock({ $0.channels[peer] }) else { return false }
            channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: nil)
            return true
        }
    }

    /// Records a new connection; false when a limit says it must be closed.
    func register(_ peer: SIPPeer, channel: any Channel) -> Bool {
        let limits = self.configuration.limits
        return self.connections.withLock { table in
            let fromAddress = table.perAddress[peer.ip, default: 0]
            guard table.channels.count < limits.connections, fromAddress < limits.connectionsPerAddress else { return false }
            table.channels[peer] = channel
            table.perAddress[peer.ip] = fromAddress + 1
            return true
        }
    }

    func unregister(_ peer: SIPPeer) {
        self.connections.withLock { table in
            guard table.channels.removeValue(forKey: peer) != nil else { return }
            let left = table.perAddress[peer.ip, default: 1] - 1
            table.perAddress[peer.ip] = left > 0 ? left : nil
        }
    }
}

/// Reads UDP datagrams: one message each.
final class SIPDatagramHandler<Sink: SIPMessageSink>: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let parser: SIPParser
    let sink: Sink

    init(parser: SIPParser, sink: Sink) {
        self.parser = parser
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        let peer = SIPPeer(transport: .udp, address: envelope.remoteAddress)
        let bytes = Array(envelope.data.readableBytesView)
        // Keep-alive CRLFs (RFC 5626 §4.4.2 uses STUN on UDP; some devices send CRLF anyway).
        if bytes.allSatisfy({ $0 == 0x0D || $0 == 0x0A || $0 == 0 }) { return }
        do throws(SIPParseError) {
            self.sink.received(.success(try self.parser.parse(datagram: bytes)), from: peer)
        } catch {
            self.sink.received(.failure(error), from: peer)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable and the like surface here; the socket stays open.
    }
}

/// Counts a stream connection (TCP, TLS, WS, WSS) against the connection limits while it is open,
/// and records it as the way to reach its peer; a refused connection is closed before the handlers
/// behind it see it become active.
final class SIPConnectionTracker: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let transport: SIPTransportKind
    let connections: SIPTransportLayer
    var peer: SIPPeer?

    init(transport: SIPTransportKind, connections: SIPTransportLayer) {
        self.transport = transport
        self.connections = connections
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let address = context.remoteAddress else {
            context.close(promise: nil)
            return
        }
        let peer = SIPPeer(transport: self.transport, address: address)
        guard self.connections.register(peer, channel: context.channel) else {
            self.connections.logger.notice("sip: connection refused by limits", metadata: ["gatehouse.peer": "\(peer)"])
            context.close(promise: nil)
            return
        }
        self.peer = peer
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let peer = self.peer { self.connections.unregister(peer) }
        self.peer = nil
        context.fireChannelInactive()
    }
}

/// Reads a TCP or TLS stream: frames by Content-Length, answers CRLF keep-alive pings, closes
/// the connection after a message that cannot be framed.
final class SIPStreamHandler<Sink: SIPMessageSink>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let transport: SIPTransportKind
    let parser: SIPParser
    let sink: Sink
    var peer: SIPPeer?
    var buffer: [UInt8] = []

    init(transport: SIPTransportKind, parser: SIPParser, sink: Sink) {
        self.transport = transport
        self.parser = parser
        self.sink = sink
    }

    /// Active only once ``SIPConnectionTracker`` admitted the connection.
    func channelActive(context: ChannelHandlerContext) {
        self.peer = context.remoteAddress.map { SIPPeer(transport: self.transport, address: $0) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.peer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer = self.peer else { return }
        let incoming = self.unwrapInboundIn(data)
        self.buffer.append(contentsOf: incoming.readableBytesView)
        var consumedTotal = 0
        defer { if consumedTotal > 0 { self.buffer.removeFirst(consumedTotal) } }
        while consumedTotal < self.buffer.count {
            let rest = consumedTotal == 0 ? self.buffer : Array(self.buffer[consumedTotal...])
            do throws(SIPParseError) {
                switch try self.parser.frame(rest) {
                case .needMore:
                    return
                case .keepAlive(let consumed, let ping):
                    consumedTotal += consumed
                    if ping { context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(string: "\r\n")), promise: nil) }
                case .message(let message, let consumed):
                    consumedTotal += consumed
                    self.sink.received(.success(message), from: peer)
                }
            } catch {
                // The stream cannot be framed any more: answer if we can, then close.
                self.sink.received(.failure(error), from: peer)
                consumedTotal = self.buffer.count
                context.close(promise: nil)
                return
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
