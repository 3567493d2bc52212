/// A header field name, compared case-insensitively, with RFC 3261 §7.3.3 compact forms expanded.
public struct SIPHeaderName: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The spelling written on the wire: the canonical one for known headers.
    public let description: String
    /// Lower-cased, for comparison.
    let key: String

    public init(_ name: String) {
        let lower = name.lowercased()
        if let known = SIPHeaderName.canonical[lower] {
            self.description = known
            self.key = known.lowercased()
        } else {
            self.description = name
            self.key = lower
        }
    }

    public init(stringLiteral value: String) { self.init(value) }

    public static func == (lhs: SIPHeaderName, rhs: SIPHeaderName) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.key) }

    public static let accept: SIPHeaderName = "Accept"
    public static let allow: SIPHeaderName = "Allow"
    public static let authorization: SIPHeaderName = "Authorization"
    public static let callID: SIPHeaderName = "Call-ID"
    public static let contact: SIPHeaderName = "Contact"
    public static let contentLength: SIPHeaderName = "Content-Length"
    public static let contentType: SIPHeaderName = "Content-Type"
    public static let cseq: SIPHeaderName = "CSeq"
    public static let date: SIPHeaderName = "Date"
    public static let expires: SIPHeaderName = "Expires"
    public static let from: SIPHeaderName = "From"
    public static let maxForwards: SIPHeaderName = "Max-Forwards"
    public static let minExpires: SIPHeaderName = "Min-Expires"
    public static let proxyAuthenticate: SIPHeaderName = "Proxy-Authenticate"
    public static let proxyAuthorization: SIPHeaderName = "Proxy-Authorization"
    public static let proxyRequire: SIPHeaderName = "Proxy-Require"
    public static let reason: SIPHeaderName = "Reason"
    public static let recordRoute: SIPHeaderName = "Record-Route"
    public static let require: SIPHeaderName = "Require"
    public static let retryAfter: SIPHeaderName = "Retry-After"
    public static let route: SIPHeaderName = "Route"
    public static let server: SIPHeaderName = "Server"
    public static let supported: SIPHeaderName = "Supported"
    public static let to: SIPHeaderName = "To"
    public static let unsupported: SIPHeaderName = "Unsupported"
    public static let userAgent: SIPHeaderName = "User-Agent"
    public static let via: SIPHeaderName = "Via"
    public static let wwwAuthenticate: SIPHeaderName = "WWW-Authenticate"

    /// Canonical spellings by lower-cased long or compact name.
    static let canonical: [String: String] = {
        var table: [String: String] = [:]
        let names = [
            "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events", "Authentication-Info",
            "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding", "Content-Language",
            "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "In-Reply-To",
            "Max-Forwards", "MIME-Version", "Min-Expires", "Organization", "Path", "Priority", "Proxy-Authenticate",
            "Proxy-Authorization", "Proxy-Require", "Reason", "Record-Route", "Refer-To", "Referred-By", "Reply-To", "Require",
            "Retry-After", "Route", "Server", "Session-Expires", "Subject", "Subscription-State", "Supported", "Timestamp",
            "To", "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
        ]
        for name in names { table[name.lowercased()] = name }
        let compact = [
            "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length", "c": "Content-Type",
            "f": "From", "s": "Subject", "k": "Supported", "t": "To", "v": "Via", "o": "Event", "u": "Allow-Events",
            "r": "Refer-To", "b": "Referred-By", "x": "Session-Expires",
        ]
        for (short, long) in compact { table[short] = long }
        return table
    }()

    /// Headers whose value is a comma-separated list (RFC 3261 §7.3.1) and may be split.
    static let lists: Set<String> = [
        "accept", "accept-encoding", "accept-language", "allow", "allow-events", "contact", "content-encoding",
        "content-language", "in-reply-to", "path", "proxy-require", "record-route", "require", "route", "supported",
        "unsupported", "via", "warning",
    ]

    /// Headers that may appear at most once (RFC 3261 §20; RFC 4475 §3.3.8).
    static let single: Set<String> = [
        "call-id", "content-length", "content-type", "cseq", "expires", "from", "max-forwards", "min-expires", "to",
    ]

    var isList: Bool { SIPHeaderName.lists.contains(self.key) }
}

/// The header fields of a message in their order, values unfolded.
public struct SIPHeaders: Sendable, Hashable, Sequence {
    public struct Field: Sendable, Hashable {
        public var name: SIPHeaderName
        public var value: String
    }

    public private(set) var fields: [Field] = []

    public init() {}

    public init(_ fields: [(SIPHeaderName, String)]) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[Field]> { self.fields.makeIterator() }

    public mutating func add(_ name: SIPHeaderName, _ value: String) { self.fields.append(Field(name: name, value: value)) }

    /// Adds a field before every other (a proxy's own Via or Record-Route, RFC 3261 §16.6).
    public mutating func prepend(_ name: SIPHeaderName, _ value: String) { self.fields.insert(Field(name: name, value: value), at: 0) }

    public mutating func remove(_ name: SIPHeaderName) { self.fields.removeAll { $0.name == name } }

    /// Replaces every field of that name with one.
    public mutating func replace(_ name: SIPHeaderName, _ value: String) {
        if let first = self.fields.firstIndex(where: { $0.name == name }) {
            self.fields[first].value = value
            var index = first + 1
            while index < self.fields.count {
                if self.fields[index].name == name { self.fields.remove(at: index) } else { index += 1 }
            }
        } else {
            self.add(name, value)
        }
    }

    /// The first field of that name.
    public subscript(name: SIPHeaderName) -> String? { self.fields.first { $0.name == name }?.value }

    /// How many fields of that name there are.
    public func count(_ name: SIPHeaderName) -> Int { self.fields.reduce(0) { $0 + ($1.name == name ? 1 : 0) } }

    /// Every value of that name: fields in order, list headers split at top-level commas.
    public func values(_ name: SIPHeaderName) -> [String] {
        var values: [String] = []
        for field in self.fields where field.name == name {
            if name.isList {
                values.append(contentsOf: SIPHeaders.split(field.value))
            } else {
                values.append(field.value)
            }
        }
        return values
    }

    /// Replaces the value of the field at `index` (of ``fields``).
    public mutating func setValue(at index: Int, _ value: String) { self.fields[index].value = value }

    /// Removes the first value of a list header (a proxy popping its own Route, or the top Via).
    public mutating func removeFirstValue(_ name: SIPHeaderName) {
        guard let index = self.fields.firstIndex(where: { $0.name == name }) else { return }
        var values = SIPHeaders.split(self.fields[index].value)
        if values.count <= 1 {
            self.fields.remove(at: index)
        } else {
            values.removeFirst()
            self.fields[index].value = values.joined(separator: ", ")
        }
    }

    /// Splits a list header's value at commas outside quoted strings and angle brackets; each
    /// piece trimmed.
    public static func split(_ value: String) -> [String] {
        var pieces: [String] = []
        let bytes = Array(value.utf8)
        var start = 0
        var quoted = false
        var angle = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { quoted = false }
            } else if byte == UInt8(ascii: "\"") {
                quoted = true
            } else if byte == UInt8(ascii: "<") {
                angle = true
            } else if byte == UInt8(ascii: ">") {
                angle = false
            } else if byte == UInt8(ascii: ","), !angle {
                pieces.append(SIPHeaders.trim(bytes[start..<index]))
                start = index + 1
            }
            index += 1
        }
        pieces.append(SIPHeaders.trim(bytes[start..<Swift.min(index, bytes.count)]))
        return pieces
    }

    static func trim(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while let first = slice.first, SIPCharacter.isWhitespace(first) { slice = slice.dropFirst() }
        while let last = slice.last, SIPCharacter.isWhitespace(last) { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }
}
