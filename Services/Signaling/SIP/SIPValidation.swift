/// A request refused before any routing: the status and reason to answer with.
public struct SIPRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var detail: String
    /// Extra header fields for the response (Unsupported for a 420, Min-Expires for a 423…).
    public var headers: [(SIPHeaderName, String)]

    public init(_ status: Int, _ detail: String, headers: [(SIPHeaderName, String)] = []) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    public static func == (lhs: SIPRejection, rhs: SIPRejection) -> Bool { lhs.status == rhs.status && lhs.detail == rhs.detail }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.status)
        hasher.combine(self.detail)
    }

    public var description: String { "\(self.status) \(self.detail)" }
}

extension SIPRequest {
    /// The syntax of the header fields every request needs (RFC 3261 §8.1.1, §8.2.2, RFC 4475
    /// §3.1.2, §3.3.1, §3.3.8): To, From, Call-ID, CSeq and Via present, once where the header is
    /// single-valued, parsable, and the CSeq method equal to the request's. Max-Forwards may be
    /// missing (RFC 2543 peers, RFC 4475 §3.4.1) but not malformed. Returns nil when the request is
    /// well-formed.
    public func syntaxProblem() -> SIPRejection? {
        for name in SIPHeaderName.single {
            if self.headers.count(SIPHeaderName(name)) > 1 { return SIPRejection(400, "more than one \(SIPHeaderName(name))") }
        }
        for name in [SIPHeaderName.to, .from, .callID, .cseq, .via] where self.headers[name] == nil {
            return SIPRejection(400, "missing \(name)")
        }
        guard let cseq = self.headers.cseq else { return SIPRejection(400, "malformed CSeq") }
        guard cseq.method == self.method else { return SIPRejection(400, "CSeq method differs from the request method") }
        guard self.headers.vias != nil else { return SIPRejection(400, "malformed Via") }
        guard self.headers.to != nil else { return SIPRejection(400, "malformed To") }
        guard self.headers.from != nil else { return SIPRejection(400, "malformed From") }
        guard let callID = self.headers.callID, SIPRequest.isCallID(callID) else { return SIPRejection(400, "malformed Call-ID") }
        if case .some(.none) = self.headers.maxForwards { return SIPRejection(400, "malformed Max-Forwards") }
        if let expires = self.headers[.expires], SIPHeaders.deltaSeconds(expires) == nil { return SIPRejection(400, "malformed Expires") }
        for value in self.headers.values(.contact) where value != "*" {
            guard SIPAddress(value) != nil else { return SIPRejection(400, "malformed Contact") }
        }
        for name in [SIPHeaderName.route, .recordRoute] {
            for value in self.headers.values(name) {
                guard let address = SIPAddress(value), address.uri.isSIP else { return SIPRejection(400, "malformed \(name)") }
            }
        }
        // RFC 3261 §19.1.1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
        if self.uri.isSIP, self.uri.headers != nil { return SIPRejection(400, "the Request-URI carries headers") }
        return nil
    }

    /// `callid = word [ "@" word ]`.
    static func isCallID(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { SIPCharacter.word[Int($0)] } }
    }
}

extension SIPResponse {
    /// Whether a received response is well-formed enough to act on: a parsable top Via, CSeq,
    /// From, To and Call-ID (RFC 4475 §3.1.2.5). Malformed responses are dropped, never answered.
    public var isWellFormed: Bool {
        for name in SIPHeaderName.single where self.headers.count(SIPHeaderName(name)) > 1 { return false }
        guard self.headers.vias != nil, self.headers.topVia != nil, self.headers.cseq != nil, self.headers.from != nil,
            self.headers.to != nil, let callID = self.headers.callID, SIPRequest.isCallID(callID)
        else { return false }
        if let retry = self.headers[.retryAfter] {
            var scanner = SIPScanner(retry)
            guard scanner.number(maximum: UInt64(UInt32.max)) != nil else { return false }
        }
        return true
    }
}

extension SIPRequest {
    /// The checks a proxy makes before forwarding (RFC 3261 §16.3): a SIP or SIPS Request-URI
    /// (416), Max-Forwards above zero (483) and every Proxy-Require option understood (420, with
    /// the unknown ones in Unsupported). Run after ``syntaxProblem()``.
    public func proxyProblem(supported: Set<String>) -> SIPRejection? {
        guard self.uri.isSIP else { return SIPRejection(416, "only sip: and sips: Request-URIs are routed") }
        if case .some(.some(let hops)) = self.headers.maxForwards, hops == 0 { return SIPRejection(483, "Max-Forwards reached zero") }
        let unknown = self.headers.optionTags(.proxyRequire).filter { !supported.contains($0) }
        if !unknown.isEmpty {
            return SIPRejection(420, "unsupported Proxy-Require", headers: [(.unsupported, unknown.joined(separator: ", "))])
        }
        return nil
    }

    /// The checks a registrar makes on a REGISTER (RFC 3261 §10.3): a SIP Request-URI (416), no
    /// unknown Require option (420), an address of record that is a SIP or SIPS URI (400), and a
    /// `*` Contact only alone and with `Expires: 0` (400).
    public func registrarProblem(supported: Set<String>) -> SIPRejection? {
        guard self.uri.isSIP else { return SIPRejection(416, "only sip: and sips: Request-URIs are registered") }
        let unknown = self.headers.optionTags(.require).filter { !supported.contains($0) }
        if !unknown.isEmpty {
            return SIPRejection(420, "unsupported Require", headers: [(.unsupported, unknown.joined(separator: ", "))])
        }
        guard let to = self.headers.to, to.uri.isSIP, to.uri.user != nil else {
            return SIPRejection(400, "the address of record (To) must be a SIP URI with a user")
        }
        let contacts = self.headers.values(.contact)
        if contacts.contains("*") {
            guard contacts.count == 1, self.headers.expires == 0 else {
                return SIPRejection(400, "a * Contact must be alone and come with Expires: 0")
            }
        }
        return nil
    }
}
