import GatehouseSIP
import Testing

@Suite struct ParserTests {
    static let register = Array(
        """
        REGISTER sip:demo.example.org SIP/2.0\r
        Via: SIP/2.0/TCP 192.0.2.7:5060;branch=z9hG4bK776asdhds;rport\r
        Max-Forwards: 70\r
        To: <sip:101@demo.example.org>\r
        From: <sip:101@demo.example.org>;tag=1928301774\r
        Call-ID: a84b4c76e66710@pc33.example.org\r
        CSeq: 314159 REGISTER\r
        Contact: <sip:101@192.0.2.7:5060;transport=tcp>;expires=600, <sip:101@198.51.100.9>;q=0.5\r
        Content-Length: 0\r
        \r

        """.utf8
    )

    @Test func streamsAreFramedByContentLength() throws {
        let parser = SIPParser()
        // Byte by byte: nothing until the last byte, then exactly one message.
        for cut in 0..<Self.register.count {
            #expect(try parser.frame(Array(Self.register[0..<cut])) == .needMore)
        }
        guard case .message(let message, let consumed) = try parser.frame(Self.register + Self.register) else {
            Issue.record("no message")
            return
        }
        #expect(consumed == Self.register.count)
        #expect(message.headers.values(.contact).count == 2)
        #expect(message.headers.topVia?.parameters.contains("rport") == true)
    }

    @Test func keepAlivesAreToldApart() throws {
        let parser = SIPParser()
        #expect(try parser.frame(Array("\r\n\r\n".utf8)) == .keepAlive(consumed: 4, ping: true))
        #expect(try parser.frame(Array("\r\n".utf8)) == .needMore)
        #expect(try parser.frame(Array("\r\nRE".utf8)) == .keepAlive(consumed: 2, ping: false))
    }

    @Test func aStreamWithoutContentLengthIsRefused() {
        let bytes = Array(String(decoding: Self.register, as: UTF8.self).replacingOccurrences("Content-Length: 0\r\n", "").utf8)
        #expect(throws: SIPParseError.self) { try SIPParser().frame(bytes) }
    }

    @Test func limitsAreEnforced() throws {
        let small = SIPParser(limits: .init(messageBytes: 300, headerBytes: 200, headerFields: 4))
        #expect {
            try small.parse(datagram: Self.register)
        } throws: { error in
            (error as? SIPParseError)?.status == 513
        }
        #expect {
            try small.frame(Array(repeating: UInt8(ascii: "A"), count: 201))
        } throws: { error in
            (error as? SIPParseError)?.code == .tooLarge
        }
        let few = SIPParser(limits: .init(headerFields: 4))
        #expect {
            try few.parse(datagram: Self.register)
        } throws: { error in
            (error as? SIPParseError)?.code == .tooManyHeaders && (error as? SIPParseError)?.status == 400
        }
    }

    @Test func uris() throws {
        let uri = try #require(SIPURI("sips:alice:secret@[2001:DB8::1]:5061;transport=tcp;lr?subject=hi&x=%20"))
        #expect(uri.scheme == "sips" && uri.user == "alice" && uri.password == "secret")
        #expect(uri.host == "[2001:db8::1]" && uri.port == 5061)
        #expect(uri.parameters["transport"] == "tcp" && uri.parameters.contains("lr"))
        #expect(uri.headers == "subject=hi&x=%20")
        #expect(SIPURI(uri.description) == uri)
        #expect(SIPURI("tel:+4930123")?.opaque == "+4930123")
        for bad in ["sip:", "sip:user@", "sip:a b", "sip:host:99999", "sip:-bad-.example", "sip:user@host;=x", "sip:%zz@host", "<sip:x>"] {
            #expect(SIPURI(bad) == nil, "\(bad)")
        }
    }

    /// Every prefix and a bounded set of single-byte mutations of a real message: never a crash,
    /// always a message or an error.
    @Test func truncationsAndMutationsNeverCrash() {
        let parser = SIPParser()
        var generator = SystemRandomNumberGenerator()
        for cut in 0...Self.register.count {
            _ = try? parser.parse(datagram: Self.register[0..<cut])
            _ = try? parser.frame(Array(Self.register[0..<cut]))
        }
        let interesting: [UInt8] = [0, 0x0D, 0x0A, 0x20, 0x22, 0x25, 0x3A, 0x3B, 0x3C, 0x3E, 0x40, 0x5C, 0xFF, 0xC3]
        for _ in 0..<5_000 {
            var bytes = Self.register
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = interesting.randomElement(using: &generator)!
            }
            if case .request(let request) = try? parser.parse(datagram: bytes) {
                _ = request.syntaxProblem()
                _ = request.registrarProblem(supported: [])
                _ = request.headers.vias
                _ = SIPMessage.request(request).serialized()
            }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
