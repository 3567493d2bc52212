/// A URI as SIP carries it: `sip:`/`sips:` URIs (RFC 3261 §19.1) parsed into their parts, any other
/// scheme kept opaque (`tel:`, `http:`, or schemes nobody knows, RFC 4475 §3.3.2).
public struct SIPURI: Sendable, Hashable, CustomStringConvertible {
    /// The scheme, lower-cased.
    public var scheme: String
    /// The user part, still %-escaped as received (compare with ``userDecoded``).
    public var user: String?
    /// The password part, still escaped. Never logged.
    public var password: String?
    /// The host, lower-cased; IPv6 references keep their brackets.
    public var host: String
    public var port: Int?
    /// `uri-parameters` in order, names lower-cased, values still escaped.
    public var parameters: SIPParameters
    /// The `?headers` part, still escaped, without the `?`.
    public var headers: String?
    /// The text after the scheme of a non-SIP URI.
    public var opaque: String?

    /// Whether this is a `sip:` or `sips:` URI with its parts parsed.
    public var isSIP: Bool { self.scheme == "sip" || self.scheme == "sips" }

    /// The user part with %-escapes resolved (RFC 3261 §19.1.4 compares URIs this way).
    public var userDecoded: String? { self.user.map(SIPURI.percentDecoded) }

    public init(scheme: String = "sip", user: String? = nil, host: String, port: Int? = nil, parameters: SIPParameters = SIPParameters()) {
        self.scheme = scheme
        self.user = user
        self.password = nil
        self.host = host
        self.port = port
        self.parameters = parameters
        self.headers = nil
        self.opaque = nil
    }

    public var description: String {
        guard self.isSIP else { return "\(self.scheme):\(self.opaque ?? "")" }
        var text = "\(self.scheme):"
        if let user = self.user {
            text += user
            if let password = self.password { text += ":\(password)" }
            text += "@"
        }
        text += self.host
        if let port = self.port { text += ":\(port)" }
        text += self.parameters.description
        if let headers = self.headers { text += "?\(headers)" }
        return text
    }

    /// `host[:port]`.
    public var hostPort: String { self.port.map { "\(self.host):\($0)" } ?? self.host }

    /// Parses a URI; nil when it is not one. White space anywhere makes it invalid (RFC 4475
    /// §3.1.2.8, §3.1.2.14).
    public init?(_ text: String) {
        self.init(bytes: Array(text.utf8))
    }

    init?(bytes: [UInt8]) {
        var scanner = SIPScanner(bytes: bytes)
        guard let first = scanner.peek, SIPCharacter.isAlpha(first) else { return nil }
        guard let scheme = scanner.run(SIPCharacter.scheme), scanner.consume(UInt8(ascii: ":")) else { return nil }
        self.scheme = scheme.lowercased()
        self.user = nil
        self.password = nil
        self.port = nil
        self.parameters = SIPParameters()
        self.headers = nil
        self.opaque = nil
        guard self.scheme == "sip" || self.scheme == "sips" else {
            // absoluteURI: any visible characters; no white space, no angle brackets.
            let rest = bytes[scanner.index...]
            guard !rest.isEmpty, rest.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
            else { return nil }
            self.host = ""
            self.opaque = String(decoding: rest, as: UTF8.self)
            return
        }
        // userinfo ends at the only "@" a valid SIP URI can have.
        if let at = bytes[scanner.index...].firstIndex(of: UInt8(ascii: "@")) {
            var user = SIPScanner(bytes: Array(bytes[scanner.index..<at]))
            guard case .some(.some(let name)) = user.escapedRun(SIPCharacter.user) else { return nil }
            self.user = name
            if user.consume(UInt8(ascii: ":")) {
                switch user.escapedRun(SIPCharacter.password) {
                case .some(.some(let password)): self.password = password
                case .none: self.password = ""
                case .some(.none): return nil
                }
            }
            guard user.atEnd else { return nil }
            scanner.index = at + 1
        }
        guard let host = SIPURI.host(&scanner) else { return nil }
        self.host = host
        if scanner.consume(UInt8(ascii: ":")) {
            guard let port = scanner.number(maximum: 65535) else { return nil }
            self.port = Int(port)
        }
        while scanner.consume(UInt8(ascii: ";")) {
            guard case .some(.some(let name)) = scanner.escapedRun(SIPCharacter.parameter) else { return nil }
            var value: String?
            if scanner.consume(UInt8(ascii: "=")) {
                guard case .some(.some(let text)) = scanner.escapedRun(SIPCharacter.parameter) else { return nil }
                value = text
            }
            self.parameters.append(name.lowercased(), value)
        }
        if scanner.consume(UInt8(ascii: "?")) {
            let start = scanner.index
            repeat {
                guard case .some(.some) = scanner.escapedRun(SIPCharacter.uriHeader), scanner.consume(UInt8(ascii: "=")) else { return nil }
                guard case .some = scanner.escapedRun(SIPCharacter.uriHeader) else { return nil }
            } while scanner.consume(UInt8(ascii: "&"))
            self.headers = String(decoding: bytes[start..<scanner.index], as: UTF8.self)
        }
        guard scanner.atEnd else { return nil }
    }

    /// `hostname / IPv4address / IPv6reference`, lower-cased.
    static func host(_ scanner: inout SIPScanner) -> String? {
        if scanner.consume(UInt8(ascii: "[")) {
            let start = scanner.index
            while let byte = scanner.peek, SIPCharacter.isHex(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".") {
                scanner.index += 1
            }
            guard scanner.index > start, scanner.consume(UInt8(ascii: "]")) else { return nil }
            return "[" + String(decoding: scanner.bytes[start..<scanner.index - 1], as: UTF8.self).lowercased() + "]"
        }
        let start = scanner.index
        while let byte = scanner.peek,
            SIPCharacter.isAlpha(byte) || SIPCharacter.isDigit(byte) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".")
        {
            scanner.index += 1
        }
        guard scanner.index > start else { return nil }
        let host = scanner.bytes[start..<scanner.index]
        // Labels neither start nor end with "-"; no empty labels except a trailing dot.
        let labels = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (position, label) in labels.enumerated() {
            if label.isEmpty {
                guard position == labels.count - 1, position > 0 else { return nil }
                continue
            }
            guard label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else { return nil }
        }
        return String(decoding: host, as: UTF8.self).lowercased()
    }

    /// Resolves `%HH` escapes; invalid UTF-8 after decoding is replaced, never trusted.
    public static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let value = UInt8(String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                out.append(value)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Ordered `;name[=value]` parameters with case-insensitive names.
public struct SIPParameters: Sendable, Hashable, CustomStringConvertible, Sequence {
    public private(set) var items: [(name: String, value: String?)] = []

    public init() {}

    public static func == (lhs: SIPParameters, rhs: SIPParameters) -> Bool {
        lhs.items.count == rhs.items.count && zip(lhs.items, rhs.items).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for item in self.items {
            hasher.combine(item.name)
            hasher.combine(item.value)
        }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String?)]> { self.items.makeIterator() }

    public mutating func append(_ name: String, _ value: String?) { self.items.append((name, value)) }

    /// Whether a parameter of that name is present (with or without a value).
    public func contains(_ name: String) -> Bool { self.items.contains { $0.name == name.lowercased() } }

    /// The value of the first parameter of that name; `.some(nil)` when it has no value.
    public subscript(name: String) -> String?? {
        let key = name.lowercased()
        return self.items.first { $0.name == key }.map(\.value)
    }

    /// Replaces (or adds) a parameter.
    public mutating func set(_ name: String, _ value: String?) {
        let key = name.lowercased()
        if let index = self.items.firstIndex(where: { $0.name == key }) {
            self.items[index].value = value
        } else {
            self.items.append((key, value))
        }
    }

    public mutating func remove(_ name: String) {
        let key = name.lowercased()
        self.items.removeAll { $0.name == key }
    }

    public var description: String {
        var text = ""
        for item in self.items {
            text += ";\(item.name)"
            if let value = item.value { text += "=\(value)" }
        }
        return text
    }
}
