import Foundation
import GatehouseAuth
import GatehouseSIP
import NIOCore
import NIOPosix
import NIOSSL
import ServiceKitTesting
import SignalingService
import Testing

/// SIP over TLS and TCP keep-alives, with a SwiftNIO client (sipp here is built without TLS).
extension SignalingRegistrarTests {
    /// A self-signed certificate for `localhost` and 127.0.0.1, made by openssl.
    func makeCertificate(in directory: URL) async throws -> (certificate: String, key: String) {
        let certificate = directory.appendingPathComponent("sip.crt").path
        let key = directory.appendingPathComponent("sip.key").path
        let run = try await runTool(
            try TestEnvironment.require("OPENSSL_BIN"),
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
                "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ]
        )
        #expect(run.status == 0, "\(run.output)")
        return (certificate, key)
    }

    /// Sends `requests` one after another on one connection and returns each answer (a SIP response,
    /// or the raw keep-alive pong).
    func exchange(port: Int, tls: NIOSSLContext?, _ requests: [(SIPMessage?) -> [UInt8]]) async throws -> [[UInt8]] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: "localhost")) }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var answers: [[UInt8]] = []
            var iterator = inbound.makeAsyncIterator()
            var buffer: [UInt8] = []
            var last: SIPMessage?
            for request in requests {
                let bytes = request(last)
                try await outbound.write(ByteBuffer(bytes: bytes))
                if bytes == Array("\r\n\r\n".utf8) {
                    // A ping's pong is one CRLF.
                    while buffer.count < 2, let chunk = try await iterator.next() { buffer += chunk.readableBytesView }
                    answers.append(Array(buffer.prefix(2)))
                    buffer.removeFirst(Swift.min(2, buffer.count))
                    continue
                }
                while true {
                    if case .message(let message, let consumed) = try SIPParser().frame(buffer) {
                        buffer.removeFirst(consumed)
                        answers.append(message.serialized())
                        last = message
                        break
                    }
                    guard let chunk = try await iterator.next() else { return answers }
                    buffer += chunk.readableBytesView
                }
            }
            return answers
        }
    }

    static func register(_ context: Context, device: Device, transport: String, cseq: Int, authorization: String?) -> [UInt8] {
        var lines = [
            "REGISTER sip:\(context.domain) SIP/2.0",
            "Via: SIP/2.0/\(transport) 127.0.0.1:5099;branch=z9hG4bK-\(UUID().uuidString.prefix(12));rport",
            "From: <sip:\(device.username)@\(context.domain)>;tag=tls\(cseq)",
            "To: <sip:\(device.username)@\(context.domain)>",
            "Call-ID: tls-\(device.username)@127.0.0.1",
            "CSeq: \(cseq) REGISTER",
            "Contact: <sip:\(device.username)@127.0.0.1:5099;transport=\(transport.lowercased())>",
            "Max-Forwards: 70",
            "Expires: 300",
        ]
        if let authorization { lines.append("Authorization: \(authorization)") }
        return Array((lines.joined(separator: "\r\n") + "\r\nContent-Length: 0\r\n\r\n").utf8)
    }

    /// The digest answer to a 401, with SHA-256 when `algorithm` says so (RFC 8760).
    static func answer(_ challenge: SIPMessage?, device: Device, domain: String, algorithm: SIPDigest.Algorithm) -> String? {
        guard let challenge, case .response(let response) = challenge, response.status == 401 else { return nil }
        guard
            let offer = response.headers.values(.wwwAuthenticate).first(where: { $0.contains("algorithm=\(algorithm.rawValue)") }),
            let nonceStart = offer.range(of: "nonce=\""), let nonceEnd = offer[nonceStart.upperBound...].firstIndex(of: "\"")
        else { return nil }
        let nonce = String(offer[nonceStart.upperBound..<nonceEnd])
        let ha1 = SIPDigest.ha1(username: device.username, realm: domain, password: device.password, algorithm)
        let uri = "sip:\(domain)"
        let digest = SIPDigest.response(
            ha1: ha1,
            method: "REGISTER",
            uri: uri,
            nonce: nonce,
            nonceCount: "00000001",
            clientNonce: "0a4f113b",
            qop: "auth",
            algorithm
        )
        return "Digest username=\"\(device.username)\", realm=\"\(domain)\", nonce=\"\(nonce)\", uri=\"\(uri)\", "
            + "response=\"\(digest)\", algorithm=\(algorithm.rawValue), qop=auth, nc=00000001, cnonce=\"0a4f113b\""
    }

    /// A self-signed certificate and key in a scratch folder, and a client TLS context trusting it.
    func withCertificate(_ body: (_ certificate: String, _ key: String, _ client: NIOSSLContext) async throws -> Void) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (certificate, key) = try await self.makeCertificate(in: scratch)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
        try await body(certificate, key, try NIOSSLContext(configuration: configuration))
    }

    @Test func devicesRegisterOverTLSWithSHA256AndTCPKeepAlivesArePonged() async throws {
        try await self.withCertificate { certificate, key, tls in
            try await self.withSignaling(configure: {
                $0.tlsPort = 0
                $0.tlsCertificateFile = certificate
                $0.tlsKeyFile = key
                $0.registrar.algorithms = [.sha256, .md5]
            }) { context in
                let tlsPort = try #require(context.tlsPort)
                let station = context.station
                let answers = try await self.exchange(
                    port: tlsPort,
                    tls: tls,
                    [
                        { _ in Self.register(context, device: station, transport: "TLS", cseq: 1, authorization: nil) },
                        { challenge in
                            Self.register(
                                context,
                                device: station,
                                transport: "TLS",
                                cseq: 2,
                                authorization: Self.answer(challenge, device: station, domain: context.domain, algorithm: .sha256)
                            )
                        },
                    ]
                )
                let texts = answers.map { String(decoding: $0, as: UTF8.self) }
                #expect(texts.count == 2 && texts[0].hasPrefix("SIP/2.0 401 ") && texts[1].hasPrefix("SIP/2.0 200 "), "\(texts)")
                // SHA-256 is offered first when configured so.
                #expect(
                    texts.first?.range(of: "algorithm=SHA-256")?.lowerBound ?? texts[0].endIndex < texts[0].range(of: "algorithm=MD5")!.lowerBound
                )
                let bindings = try await context.server.store.bindings(tenant: context.tenant, device: station.id, logger: self.logger)
                #expect(bindings.map(\.transport) == ["TLS"])
                // Over TCP, a double-CRLF ping gets a single-CRLF pong and the connection stays usable.
                let keepAlive = try await self.exchange(
                    port: context.tcpPort,
                    tls: nil,
                    [
                        { _ in Array("\r\n\r\n".utf8) },
                        { _ in Self.register(context, device: context.phone, transport: "TCP", cseq: 1, authorization: nil) },
                    ]
                )
                #expect(keepAlive.first == Array("\r\n".utf8))
                #expect(keepAlive.count == 2 && String(decoding: keepAlive[1], as: UTF8.self).hasPrefix("SIP/2.0 401 "))
            }
        }
    }
}
