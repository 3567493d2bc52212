/// `name-addr / addr-spec` with header parameters: the value of To, From, Contact, Route and
/// Record-Route (RFC 3261 §20.10, §25.1).
public struct SIPAddress: Sendable, Hashable, CustomStringConvertible {
    public var displayName: String?
    public var uri: SIPURI
    /// Header parameters after the address (`tag`, `expires`, `q`…), names lower-cased.
    public var parameters: SIPParameters

    public init(displayName: String? = nil, uri: SIPURI, parameters: SIPParameters = SIPParameters()) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    public var tag: String? { self.parameters["tag"] ?? nil }

    public var description: String {
        var text = ""
        if let displayName = self.displayName {
            var quoted = "\""
            for character in displayName.unicodeScalars {
                if character == "\\" || character == "\"" { quoted.unicodeScalars.append("\\") }
                quoted.unicodeScalars.append(character)
            }
            text += quoted + "\" "
        }
        text += "<\(self.uri)>" + self.parameters.description
        return text
    }

    /// Parses one address; nil when it is not one.
    public init?(_ text: String) {
        var scanner = SIPScanner(text)
        scanner.skipWhitespace()
        var displayName: String?
        let mark = scanner.index
        if scanner.peek == UInt8(ascii: "\"") {
            guard let quoted = scanner.quotedString() else { return nil }
            displayName = quoted
            scanner.skipWhitespace()
            guard scanner.peek == UInt8(ascii: "<") else { return nil }
        } else {
            // `*(token LWS)` before "<", or an addr-spec.
            var words: [String] = []
            while let word = scanner.token() {
                words.append(word)
                scanner.skipWhitespace()
            }
            if scanner.peek == UInt8(ascii: "<") {
                displayName = words.isEmpty ? nil : words.joined(separator: " ")
            } else {
                scanner.index = mark
            }
        }
        if scanner.consume(UInt8(ascii: "<")) {
            // The URI runs to ">" with no white space inside the brackets (RAQUOT/LAQUOT).
            guard let close = scanner.bytes[scanner.index...].firstIndex(of: UInt8(ascii: ">")),
                let uri = SIPURI(bytes: Array(scanner.bytes[scanner.index..<close]))
            else { return nil }
            self.uri = uri
            scanner.index = close + 1
        } else {
            // addr-spec: the URI ends at the first ";" (header parameters follow) and carries
            // no "?" headers, "," or ";" of its own (RFC 3261 §20.10).
            let start = scanner.index
            while let byte = scanner.peek, byte != UInt8(ascii: ";"), !SIPCharacter.isWhitespace(byte) { scanner.index += 1 }
            guard let uri = SIPURI(bytes: Array(scanner.bytes[start..<scanner.index])), uri.headers == nil,
                !uri.description.contains(",")
            else { return nil }
            self.uri = uri
        }
        self.displayName = displayName
        guard let parameters = SIPAddress.headerParameters(&scanner) else { return nil }
        self.parameters = parameters
    }

    /// `*( SEMI generic-param )` to the end of the value; nil when malformed.
    static func headerParameters(_ scanner: inout SIPScanner) -> SIPParameters? {
        var parameters = SIPParameters()
        while scanner.separator(UInt8(ascii: ";")) {
            guard let name = scanner.token() else { return nil }
            var value: String?
            if scanner.separator(UInt8(ascii: "=")) {
                if scanner.peek == UInt8(ascii: "\"") {
                    guard let quoted = scanner.quotedString() else { return nil }
                    value = "\"" + quoted + "\""
                } else if scanner.peek == UInt8(ascii: "[") {
                    guard let host = SIPURI.host(&scanner) else { return nil }
                    value = host
                } else {
                    guard let token = scanner.token() else { return nil }
                    value = token
                }
            }
            parameters.append(name.lowercased(), value)
        }
        scanner.skipWhitespace()
        return scanner.atEnd ? parameters : nil
    }
}

/// One Via value (RFC 3261 §20.42).
public struct SIPVia: Sendable, Hashable, CustomStringConvertible {
    /// `SIP/2.0`.
    public var `protocol`: String
    /// The transport, upper-cased: UDP, TCP, TLS, WS, WSS, SCTP or an extension.
    public var transport: String
    public var host: String
    public var port: Int?
    public var parameters: SIPParameters

    public init(transport: String, host: String, port: Int?, branch: String) {
        self.protocol = "SIP/2.0"
        self.transport = transport
        self.host = host
        self.port = port
        var parameters = SIPParameters()
        parameters.append("branch", branch)
        self.parameters = parameters
    }

    public var branch: String? { self.parameters["branch"] ?? nil }
    /// RFC 3261 branches start with the magic cookie; older ones (RFC 2543, RFC 4475 §3.2.1) do not.
    public var hasRFC3261Branch: Bool { self.branch.map { $0.hasPrefix("z9hG4bK") && $0.count > 7 } ?? false }

    public var description: String {
        "\(self.protocol)/\(self.transport) \(self.port.map { "\(self.host):\($0)" } ?? self.host)\(self.parameters)"
    }

    public init?(_ text: String) {
        var scanner = SIPScanner(text)
        scanner.skipWhitespace()
        guard let name = scanner.token(), scanner.separator(UInt8(ascii: "/")), let version = scanner.token(),
            scanner.separator(UInt8(ascii: "/")), let transport = scanner.token(), scanner.skipWhitespace()
        else { return nil }
        self.protocol = "\(name.uppercased())/\(version)"
        self.transport = transport.uppercased()
        guard let host = SIPURI.host(&scanner) else { return nil }
        self.host = host
        self.port = nil
        if scanner.separator(UInt8(ascii: ":")) {
            guard let port = scanner.number(maximum: 65535) else { return nil }
            self.port = Int(port)
        }
        guard let parameters = SIPAddress.headerParameters(&scanner) else { return nil }
        // rport (RFC 3581) is the one parameter that may lack a value; branch, received, maddr
        // and ttl need one.
        for name in ["branch", "received", "maddr", "ttl"] {
            if case .some(.none) = parameters[name] { return nil }
        }
        self.parameters = parameters
    }
}

/// The CSeq value: a sequence number below 2³¹ and a method (RFC 3261 §8.1.1.5).
public struct SIPCSeq: Sendable, Hashable, CustomStringConvertible {
    public var number: UInt32
    public var method: SIPMethod

    public init(number: UInt32, method: SIPMethod) {
        self.number = number
        self.method = method
    }

    public var description: String { "\(self.number) \(self.method)" }

    public init?(_ text: String) {
        var scanner = SIPScanner(text)
        scanner.skipWhitespace()
        guard let number = scanner.number(maximum: UInt64(Int32.max)), scanner.skipWhitespace(), let method = scanner.token()
        else { return nil }
        scanner.skipWhitespace()
        guard scanner.atEnd else { return nil }
        self.number = UInt32(number)
        self.method = SIPMethod(method)
    }
}

/// A request method; extension methods are tokens kept as written (methods are case-sensitive).
public struct SIPMethod: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ name: String) { self.description = name }

    public static let invite = SIPMethod("INVITE")
    public static let ack = SIPMethod("ACK")
    public static let bye = SIPMethod("BYE")
    public static let cancel = SIPMethod("CANCEL")
    public static let options = SIPMethod("OPTIONS")
    public static let register = SIPMethod("REGISTER")
    public static let info = SIPMethod("INFO")
    public static let message = SIPMethod("MESSAGE")
    public static let notify = SIPMethod("NOTIFY")
    public static let subscribe = SIPMethod("SUBSCRIBE")
    public static let refer = SIPMethod("REFER")
    public static let prack = SIPMethod("PRACK")
    public static let update = SIPMethod("UPDATE")
    public static let publish = SIPMethod("PUBLISH")
}

/// `Digest` credentials of an Authorization or Proxy-Authorization header (RFC 3261 §22.4,
/// RFC 8760); other schemes parse to nil so they are treated as absent credentials.
public struct SIPDigestCredentials: Sendable, Hashable {
    public var username: String
    public var realm: String
    public var nonce: String
    public var uri: String
    public var response: String
    public var algorithm: String?
    public var opaque: String?
    public var qop: String?
    public var nonceCount: String?
    public var clientNonce: String?

    public init?(_ text: String) {
        var scanner = SIPScanner(text)
        scanner.skipWhitespace()
        guard let scheme = scanner.token(), scheme.lowercased() == "digest", scanner.skipWhitespace() else { return nil }
        var fields: [String: String] = [:]
        repeat {
            scanner.skipWhitespace()
            guard let name = scanner.token(), scanner.separator(UInt8(ascii: "=")) else { return nil }
            let value: String
            if scanner.peek == UInt8(ascii: "\"") {
                guard let quoted = scanner.quotedString() else { return nil }
                value = quoted
            } else {
                guard let token = scanner.token() else { return nil }
                value = token
            }
            let key = name.lowercased()
            guard fields[key] == nil else { return nil }
            fields[key] = value
        } while scanner.separator(UInt8(ascii: ","))
        scanner.skipWhitespace()
        guard scanner.atEnd, let username = fields["username"], let realm = fields["realm"], let nonce = fields["nonce"],
            let uri = fields["uri"], let response = fields["response"]
        else { return nil }
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        self.algorithm = fields["algorithm"]
        self.opaque = fields["opaque"]
        self.qop = fields["qop"]
        self.nonceCount = fields["nc"]
        self.clientNonce = fields["cnonce"]
    }
}
