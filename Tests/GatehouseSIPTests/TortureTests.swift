import Foundation
import GatehouseSIP
import Testing

/// The 49 messages of RFC 4475, each judged by what its section of the RFC says an element
/// receiving it should do. Proxy and registrar behaviour stands in for "the element": a valid
/// request is accepted for routing, an invalid one is answered with the status named, a malformed
/// response is dropped.
@Suite struct TortureTests {
    enum Outcome: Sendable, CustomStringConvertible {
        /// Parsed and accepted for routing or registration.
        case accepted
        /// Answered with this status.
        case answered(Int)
        /// Dropped without an answer (malformed responses).
        case dropped

        var description: String {
            switch self {
            case .accepted: "accepted"
            case .answered(let status): "answered \(status)"
            case .dropped: "dropped"
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var section: String
        var title: String
        var file: String
        var outcome: Outcome
        var testDescription: String { "§\(self.section) \(self.title) (\(self.file)) → \(self.outcome)" }
    }

    static let cases: [Case] = [
        // §3.1.1 Valid messages: all parse; responses are well-formed.
        Case(section: "3.1.1.1", title: "A short tortuous INVITE", file: "wsinv", outcome: .accepted),
        Case(section: "3.1.1.2", title: "Wide range of valid characters", file: "intmeth", outcome: .accepted),
        Case(section: "3.1.1.3", title: "Valid use of the % escaping mechanism", file: "esc01", outcome: .accepted),
        Case(section: "3.1.1.4", title: "Escaped nulls in URIs", file: "escnull", outcome: .accepted),
        Case(section: "3.1.1.5", title: "Use of % when it is not an escape", file: "esc02", outcome: .accepted),
        Case(section: "3.1.1.6", title: "Message with no LWS between display name and <", file: "lwsdisp", outcome: .accepted),
        Case(section: "3.1.1.7", title: "Long values in header fields", file: "longreq", outcome: .accepted),
        Case(section: "3.1.1.8", title: "Extra trailing octets in a UDP datagram", file: "dblreq", outcome: .accepted),
        Case(section: "3.1.1.9", title: "Semicolon-separated parameters in URI user part", file: "semiuri", outcome: .accepted),
        Case(section: "3.1.1.10", title: "Varied and unknown transport types", file: "transports", outcome: .accepted),
        Case(section: "3.1.1.11", title: "Multipart MIME message", file: "mpart01", outcome: .accepted),
        Case(section: "3.1.1.12", title: "Unusual reason phrase", file: "unreason", outcome: .accepted),
        Case(section: "3.1.1.13", title: "Empty reason phrase", file: "noreason", outcome: .accepted),
        // §3.1.2 Invalid messages: requests get 400 (505 for the version), responses are dropped.
        Case(section: "3.1.2.1", title: "Extraneous header field separators", file: "badinv01", outcome: .answered(400)),
        Case(section: "3.1.2.2", title: "Content length larger than message", file: "clerr", outcome: .answered(400)),
        Case(section: "3.1.2.3", title: "Negative Content-Length", file: "ncl", outcome: .answered(400)),
        Case(section: "3.1.2.4", title: "Request scalar fields with overlarge values", file: "scalar02", outcome: .answered(400)),
        Case(section: "3.1.2.5", title: "Response scalar fields with overlarge values", file: "scalarlg", outcome: .dropped),
        Case(section: "3.1.2.6", title: "Unterminated quoted string in display name", file: "quotbal", outcome: .answered(400)),
        Case(section: "3.1.2.7", title: "<> enclosing Request-URI", file: "ltgtruri", outcome: .answered(400)),
        Case(section: "3.1.2.8", title: "Malformed SIP Request-URI (embedded LWS)", file: "lwsruri", outcome: .answered(400)),
        Case(section: "3.1.2.9", title: "Multiple SP separating Request-Line elements", file: "lwsstart", outcome: .answered(400)),
        Case(section: "3.1.2.10", title: "SP characters at end of Request-Line", file: "trws", outcome: .answered(400)),
        Case(section: "3.1.2.11", title: "Escaped headers in SIP Request-URI", file: "escruri", outcome: .answered(400)),
        // The RFC lets a proxy forward a bad Date untouched; Gatehouse never reads Date.
        Case(section: "3.1.2.12", title: "Invalid time zone in Date header field", file: "baddate", outcome: .accepted),
        Case(section: "3.1.2.13", title: "Failure to enclose name-addr URI in <>", file: "regbadct", outcome: .answered(400)),
        Case(section: "3.1.2.14", title: "Spaces within addr-spec", file: "badaspec", outcome: .answered(400)),
        Case(section: "3.1.2.15", title: "Non-token characters in display name", file: "baddn", outcome: .answered(400)),
        Case(section: "3.1.2.16", title: "Unknown protocol version", file: "badvers", outcome: .answered(505)),
        Case(section: "3.1.2.17", title: "Start line and CSeq method mismatch", file: "mismatch01", outcome: .answered(400)),
        Case(section: "3.1.2.18", title: "Unknown method with CSeq method mismatch", file: "mismatch02", outcome: .answered(400)),
        Case(section: "3.1.2.19", title: "Overlarge response code", file: "bigcode", outcome: .dropped),
        // §3.2 Transaction layer: an RFC 2543 branch is matched the old way, not refused.
        Case(section: "3.2.1", title: "Missing transaction identifier", file: "badbranch", outcome: .accepted),
        // §3.3 Application layer.
        Case(section: "3.3.1", title: "Missing required header fields", file: "insuf", outcome: .answered(400)),
        Case(section: "3.3.2", title: "Request-URI with unknown scheme", file: "unkscm", outcome: .answered(416)),
        Case(section: "3.3.3", title: "Request-URI with known but atypical scheme", file: "novelsc", outcome: .answered(416)),
        // A registrar needs a SIP address of record in To.
        Case(section: "3.3.4", title: "Unknown URI schemes in header fields", file: "unksm2", outcome: .answered(400)),
        Case(section: "3.3.5", title: "Proxy-Require and Require", file: "bext01", outcome: .answered(420)),
        // Content-Type and Accept are the called user agent's business (415, 406): a proxy forwards.
        Case(section: "3.3.6", title: "Unknown Content-Type", file: "invut", outcome: .accepted),
        // An unknown scheme is no credentials: the registrar challenges (checked below).
        Case(section: "3.3.7", title: "Unknown authorization scheme", file: "regaut01", outcome: .accepted),
        Case(section: "3.3.8", title: "Multiple values in single value required fields", file: "multi01", outcome: .answered(400)),
        Case(section: "3.3.9", title: "Multiple Content-Length values", file: "mcl01", outcome: .answered(400)),
        // Well-formed; no transaction of ours matches it, so the transaction layer drops it.
        Case(section: "3.3.10", title: "200 OK response with broadcast Via header field value", file: "bcast", outcome: .accepted),
        Case(section: "3.3.11", title: "Max-Forwards of zero", file: "zeromf", outcome: .answered(483)),
        Case(section: "3.3.12", title: "REGISTER with a Contact header parameter", file: "cparam01", outcome: .accepted),
        Case(section: "3.3.13", title: "REGISTER with a url-parameter", file: "cparam02", outcome: .accepted),
        Case(section: "3.3.14", title: "REGISTER with a URL escaped header", file: "regescrt", outcome: .accepted),
        Case(section: "3.3.15", title: "Unacceptable Accept offering", file: "sdp01", outcome: .accepted),
        // §3.4 Backward compatibility.
        Case(section: "3.4.1", title: "INVITE with RFC 2543 syntax", file: "inv2543", outcome: .accepted),
    ]

    static func bytes(_ file: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/rfc4475/\(file)", withExtension: "dat"))
        return Array(try Data(contentsOf: url))
    }

    /// What Gatehouse does with one datagram, as a proxy (or, for REGISTER, a registrar).
    static func outcome(_ bytes: [UInt8]) -> (Outcome, SIPMessage?) {
        let message: SIPMessage
        do {
            message = try SIPParser().parse(datagram: bytes)
        } catch {
            return (error.status.map(Outcome.answered) ?? .dropped, nil)
        }
        switch message {
        case .response(let response):
            return (response.isWellFormed ? .accepted : .dropped, message)
        case .request(let request):
            let problem =
                request.syntaxProblem()
                ?? (request.method == .register ? request.registrarProblem(supported: []) : request.proxyProblem(supported: []))
            return (problem.map { .answered($0.status) } ?? .accepted, message)
        }
    }

    @Test func everyMessageOfTheRFCIsCovered() throws {
        let directory = try #require(Bundle.module.url(forResource: "Fixtures/rfc4475", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".dat") }
        #expect(files.count == 49)
        #expect(Set(files.map { String($0.dropLast(4)) }) == Set(Self.cases.map(\.file)))
        #expect(Set(Self.cases.map(\.section)).count == 49)
    }

    @Test(arguments: TortureTests.cases)
    func eachMessageGetsWhatItsSectionSays(_ test: Case) throws {
        let (outcome, _) = Self.outcome(try Self.bytes(test.file))
        #expect(outcome.description == test.outcome.description)
    }

    @Test func validMessagesReadAsTheRFCDescribesThem() throws {
        // §3.1.1.1: folding, compact names, odd spacing and case.
        guard case .request(let wsinv) = try SIPParser().parse(datagram: try Self.bytes("wsinv")) else { Issue.record(); return }
        #expect(wsinv.headers.maxForwards == 68)
        #expect(wsinv.headers.cseq == SIPCSeq(number: 9, method: .invite))
        #expect(wsinv.headers.to?.tag == "1918181833n")
        #expect(wsinv.headers.from?.displayName == "J Rosenberg \\\"")
        #expect(wsinv.headers.vias?.map(\.transport) == ["UDP", "TCP", "UDP"])
        #expect(wsinv.headers.vias?.last?.branch == "z9hG4bK30239")
        #expect(wsinv.headers.values(.contact).count == 1)
        #expect(wsinv.headers[.contact].flatMap(SIPAddress.init)?.parameters["q"] == "0.33")
        #expect(wsinv.body.count == 150)
        // §3.1.1.3: escapes compare decoded.
        guard case .request(let esc01) = try SIPParser().parse(datagram: try Self.bytes("esc01")) else { Issue.record(); return }
        #expect(esc01.headers.to?.uri.userDecoded == "user")
        #expect(esc01.uri.userDecoded == "sips:user@example.com")
        // §3.1.1.5: an escaped method is another method, and "C%6Fntact" another header.
        guard case .request(let esc02) = try SIPParser().parse(datagram: try Self.bytes("esc02")) else { Issue.record(); return }
        #expect(esc02.method.description == "RE%47IST%45R" && esc02.method != .register)
        #expect(esc02.headers.values(.contact).count == 2)
        // §3.1.1.8: the second request in the datagram is ignored.
        guard case .request(let dblreq) = try SIPParser().parse(datagram: try Self.bytes("dblreq")) else { Issue.record(); return }
        #expect(dblreq.method == .register && dblreq.body.isEmpty)
        // §3.1.1.10: unknown transports are still Vias.
        guard case .request(let transports) = try SIPParser().parse(datagram: try Self.bytes("transports")) else { Issue.record(); return }
        #expect(transports.headers.vias?.map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
        // §3.1.1.13: an empty reason phrase.
        guard case .response(let noreason) = try SIPParser().parse(datagram: try Self.bytes("noreason")) else { Issue.record(); return }
        #expect(noreason.status == 100 && noreason.reason.isEmpty)
        // §3.2.1: the branch lacks the RFC 3261 cookie.
        guard case .request(let badbranch) = try SIPParser().parse(datagram: try Self.bytes("badbranch")) else { Issue.record(); return }
        #expect(badbranch.headers.topVia?.hasRFC3261Branch == false)
        // §3.3.7: an unknown authorization scheme is no credentials.
        guard case .request(let regaut) = try SIPParser().parse(datagram: try Self.bytes("regaut01")) else { Issue.record(); return }
        #expect(regaut.headers[.authorization] != nil && regaut.headers[.authorization].flatMap(SIPDigestCredentials.init) == nil)
        // §3.3.5: the 420 names exactly the Proxy-Require options.
        guard case .request(let bext) = try SIPParser().parse(datagram: try Self.bytes("bext01")) else { Issue.record(); return }
        #expect(bext.proxyProblem(supported: [])?.headers.first?.1 == "noProxiesSupportThis, norDoAnyProxiesSupportThis")
    }

    @Test func answersCopyWhatTheRFCRequires() throws {
        // A 400 for an invalid request still carries its Via, From, To, Call-ID and CSeq.
        let clerr = try Self.bytes("clerr")
        do throws(SIPParseError) {
            _ = try SIPParser().parse(datagram: clerr)
            Issue.record("clerr parsed")
        } catch {
            let response = SIPResponse(status: try #require(error.status), replyingTo: error.headers, toTag: "gh1")
            let text = String(decoding: SIPMessage.response(response).serialized(), as: UTF8.self)
            #expect(text.hasPrefix("SIP/2.0 400 Bad Request\r\n"))
            #expect(text.contains("Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\n"))
            #expect(text.contains("To: sip:j.user@example.com;tag=gh1\r\n"))
            #expect(text.contains("Call-ID: clerr.0ha0isndaksdjweiafasdk3\r\n"))
            #expect(text.hasSuffix("Content-Length: 0\r\n\r\n"))
        }
    }

    @Test func serializedMessagesParseBackToThemselves() throws {
        for test in Self.cases {
            let (outcome, message) = Self.outcome(try Self.bytes(test.file))
            guard case .accepted = outcome, let message else { continue }
            let again = try SIPParser().parse(datagram: message.serialized())
            // The same fields and body; a missing Content-Length is written.
            #expect(again.body == message.body, "\(test.file)")
            #expect(
                Array(again.headers.filter { $0.name != .contentLength }) == Array(message.headers.filter { $0.name != .contentLength }),
                "\(test.file)"
            )
            #expect(again.serialized() == message.serialized(), "\(test.file)")
        }
    }
}
