/// A SIP request (RFC 3261 §7.1).
public struct SIPRequest: Sendable, Hashable {
    public var method: SIPMethod
    public var uri: SIPURI
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(method: SIPMethod, uri: SIPURI, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }
}

/// A SIP response (RFC 3261 §7.2).
public struct SIPResponse: Sendable, Hashable {
    public var status: Int
    public var reason: String
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(status: Int, reason: String? = nil, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.reason = reason ?? SIPResponse.defaultReason(status)
        self.headers = headers
        self.body = body
    }

    /// A response to a request whose header fields are `request` (RFC 3261 §8.2.6.2): Via, From,
    /// To, Call-ID and CSeq copied, and a To tag added unless there is one or this is a 100.
    public init(status: Int, reason: String? = nil, replyingTo request: SIPHeaders, toTag: String?) {
        self.init(status: status, reason: reason)
        for field in request where field.name == .via { self.headers.add(.via, field.value) }
        for name in [SIPHeaderName.from, .to, .callID, .cseq] {
            guard var value = request[name] else { continue }
            if name == .to, status > 100, let toTag, let to = SIPAddress(value), to.tag == nil {
                value += ";tag=\(toTag)"
            }
            self.headers.add(name, value)
        }
    }

    public static func defaultReason(_ status: Int) -> String {
        switch status {
        case 100: "Trying"
        case 180: "Ringing"
        case 181: "Call Is Being Forwarded"
        case 182: "Queued"
        case 183: "Session Progress"
        case 200: "OK"
        case 202: "Accepted"
        case 301: "Moved Permanently"
        case 302: "Moved Temporarily"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 410: "Gone"
        case 413: "Request Entity Too Large"
        case 414: "Request-URI Too Long"
        case 415: "Unsupported Media Type"
        case 416: "Unsupported URI Scheme"
        case 420: "Bad Extension"
        case 421: "Extension Required"
        case 423: "Interval Too Brief"
        case 480: "Temporarily Unavailable"
        case 481: "Call/Transaction Does Not Exist"
        case 482: "Loop Detected"
        case 483: "Too Many Hops"
        case 484: "Address Incomplete"
        case 486: "Busy Here"
        case 487: "Request Terminated"
        case 488: "Not Acceptable Here"
        case 491: "Request Pending"
        case 500: "Server Internal Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Server Time-out"
        case 505: "Version Not Supported"
        case 513: "Message Too Large"
        case 600: "Busy Everywhere"
        case 603: "Decline"
        case 604: "Does Not Exist Anywhere"
        case 606: "Not Acceptable"
        default: "Unknown"
        }
    }
}

/// A request or a response.
public enum SIPMessage: Sendable, Hashable {
    case request(SIPRequest)
    case response(SIPResponse)

    public var headers: SIPHeaders {
        switch self {
        case .request(let request): request.headers
        case .response(let response): response.headers
        }
    }

    public var body: [UInt8] {
        switch self {
        case .request(let request): request.body
        case .response(let response): response.body
        }
    }
}

// MARK: - Typed views of the header fields

extension SIPHeaders {
    /// Every Via, top first; nil when one of them does not parse.
    public var vias: [SIPVia]? {
        var vias: [SIPVia] = []
        for value in self.values(.via) {
            guard let via = SIPVia(value) else { return nil }
            vias.append(via)
        }
        return vias
    }

    public var topVia: SIPVia? { self.values(.via).first.flatMap(SIPVia.init) }
    public var cseq: SIPCSeq? { self[.cseq].flatMap(SIPCSeq.init) }
    public var from: SIPAddress? { self[.from].flatMap(SIPAddress.init) }
    public var to: SIPAddress? { self[.to].flatMap(SIPAddress.init) }
    public var callID: String? { self[.callID] }

    /// Max-Forwards (0–255), nil when absent; `.some(nil)` when malformed.
    public var maxForwards: Int?? {
        guard let value = self[.maxForwards] else { return nil }
        var scanner = SIPScanner(value)
        guard let number = scanner.number(maximum: 255), scanner.atEnd else { return .some(nil) }
        return .some(Int(number))
    }

    /// Expires in seconds, clamped to 2³²−1 (RFC 3261 §25 delta-seconds); nil when absent or
    /// malformed.
    public var expires: UInt32? {
        self[.expires].flatMap(SIPHeaders.deltaSeconds)
    }

    /// `delta-seconds`: digits, clamped to 2³²−1 (RFC 3261 §25); nil when not a number.
    public static func deltaSeconds(_ text: String) -> UInt32? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.allSatisfy(SIPCharacter.isDigit) else { return nil }
        if digits.count > 10 { return UInt32.max }
        return UInt32(clamping: UInt64(text) ?? UInt64(UInt32.max))
    }

    /// Option tags of a Require, Proxy-Require, Supported or Unsupported header.
    public func optionTags(_ name: SIPHeaderName) -> [String] {
        self.values(name).filter { !$0.isEmpty }
    }
}

// MARK: - Serialization

extension SIPMessage {
    /// The bytes on the wire; Content-Length is always written from the body, in its place or last.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + self.body.count)
        switch self {
        case .request(let request):
            out.append(contentsOf: "\(request.method) \(request.uri) SIP/2.0\r\n".utf8)
        case .response(let response):
            out.append(contentsOf: "SIP/2.0 \(response.status) \(response.reason)\r\n".utf8)
        }
        var wroteLength = false
        for field in self.headers {
            out.append(contentsOf: field.name.description.utf8)
            out.append(contentsOf: ": ".utf8)
            if field.name == .contentLength {
                guard !wroteLength else { continue }
                wroteLength = true
                out.append(contentsOf: String(self.body.count).utf8)
            } else {
                out.append(contentsOf: field.value.utf8)
            }
            out.append(contentsOf: "\r\n".utf8)
        }
        if !wroteLength { out.append(contentsOf: "Content-Length: \(self.body.count)\r\n".utf8) }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: self.body)
        return out
    }
}
