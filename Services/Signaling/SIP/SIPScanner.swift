/// Character classes of the RFC 3261 §25 grammar, on bytes.
enum SIPCharacter {
    /// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~".
    static let token: [Bool] = table("-.!%*_+`'~", alphanumeric: true)
    /// `word` characters (Call-ID): token characters plus `( ) < > : \ " / [ ] ? { }`.
    static let word: [Bool] = table("-.!%*_+`'~()<>:\\\"/[]?{}", alphanumeric: true)
    /// `unreserved`: alphanum / mark.
    static let unreserved: [Bool] = table("-_.!~*'()", alphanumeric: true)
    /// Characters of a SIP URI's user part besides escapes: unreserved / user-unreserved.
    static let user: [Bool] = table("-_.!~*'()&=+$,;?/", alphanumeric: true)
    /// Characters of a SIP URI's password besides escapes.
    static let password: [Bool] = table("-_.!~*'()&=+$,", alphanumeric: true)
    /// Characters of a URI parameter name or value besides escapes: param-unreserved / unreserved.
    static let parameter: [Bool] = table("-_.!~*'()[]/:&+$", alphanumeric: true)
    /// Characters of a URI header name or value besides escapes: hnv-unreserved / unreserved.
    static let uriHeader: [Bool] = table("-_.!~*'()[]/?:+$", alphanumeric: true)
    /// Characters of a host name, an IPv4 address or the inside of an IPv6 reference.
    static let host: [Bool] = table("-.:", alphanumeric: true)
    /// `scheme` characters after the first letter.
    static let scheme: [Bool] = table("+-.", alphanumeric: true)

    static func table(_ extra: String, alphanumeric: Bool) -> [Bool] {
        var table = [Bool](repeating: false, count: 256)
        if alphanumeric {
            for byte in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(byte)] = true }
            for byte in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(byte)] = true }
            for byte in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(byte)] = true }
        }
        for byte in extra.utf8 { table[Int(byte)] = true }
        return table
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
    static func isHex(_ byte: UInt8) -> Bool { self.isDigit(byte) || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "f")) }
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
}

/// A cursor over the bytes of one (unfolded) header value: the lexical pieces RFC 3261 §25.1
/// builds every header from, with its rule that separators may be surrounded by white space.
struct SIPScanner {
    let bytes: [UInt8]
    var index: Int

    init(_ text: String) {
        self.bytes = Array(text.utf8)
        self.index = 0
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
    }

    var atEnd: Bool { self.index >= self.bytes.count }
    var peek: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    /// Skips spaces and tabs; returns whether there were any.
    @discardableResult
    mutating func skipWhitespace() -> Bool {
        let start = self.index
        while self.index < self.bytes.count, SIPCharacter.isWhitespace(self.bytes[self.index]) { self.index += 1 }
        return self.index > start
    }

    /// `SWS separator SWS`: consumes `separator` with the white space around it.
    mutating func separator(_ byte: UInt8) -> Bool {
        let start = self.index
        self.skipWhitespace()
        if self.peek == byte {
            self.index += 1
            self.skipWhitespace()
            return true
        }
        self.index = start
        return false
    }

    /// Consumes `byte` exactly where the cursor is.
    mutating func consume(_ byte: UInt8) -> Bool {
        if self.peek == byte {
            self.index += 1
            return true
        }
        return false
    }

    /// A run of characters from `table`, or nil when there is none.
    mutating func run(_ table: [Bool]) -> String? {
        let start = self.index
        while self.index < self.bytes.count, table[Int(self.bytes[self.index])] { self.index += 1 }
        guard self.index > start else { return nil }
        return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
    }

    mutating func token() -> String? { self.run(SIPCharacter.token) }

    /// A run of characters from `table` and `%HH` escapes, kept escaped; nil when empty or when an
    /// escape is broken.
    mutating func escapedRun(_ table: [Bool]) -> String?? {
        let start = self.index
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if table[Int(byte)] {
                self.index += 1
            } else if byte == UInt8(ascii: "%") {
                guard self.index + 2 < self.bytes.count, SIPCharacter.isHex(self.bytes[self.index + 1]),
                    SIPCharacter.isHex(self.bytes[self.index + 2])
                else { return .some(nil) }
                self.index += 3
            } else {
                break
            }
        }
        guard self.index > start else { return nil }
        return .some(String(decoding: self.bytes[start..<self.index], as: UTF8.self))
    }

    /// A `quoted-string` (the cursor on its opening quote); returns its content with quoted pairs
    /// resolved, or nil when it is not terminated.
    mutating func quotedString() -> String? {
        guard self.peek == UInt8(ascii: "\"") else { return nil }
        var index = self.index + 1
        var content: [UInt8] = []
        while index < self.bytes.count {
            let byte = self.bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                self.index = index + 1
                return String(decoding: content, as: UTF8.self)
            case UInt8(ascii: "\\"):
                // quoted-pair: "\" (%x00-09 / %x0B-0C / %x0E-7F)
                guard index + 1 < self.bytes.count, self.bytes[index + 1] <= 0x7F, self.bytes[index + 1] != 0x0A,
                    self.bytes[index + 1] != 0x0D
                else { return nil }
                content.append(self.bytes[index + 1])
                index += 2
            case 0x0D, 0x0A:
                return nil
            default:
                content.append(byte)
                index += 1
            }
        }
        return nil
    }

    /// The rest of the value from the cursor, trimmed of trailing white space.
    mutating func rest() -> String {
        var end = self.bytes.count
        while end > self.index, SIPCharacter.isWhitespace(self.bytes[end - 1]) { end -= 1 }
        let text = String(decoding: self.bytes[self.index..<end], as: UTF8.self)
        self.index = self.bytes.count
        return text
    }

    /// Unsigned decimal digits as a number no larger than `maximum`, or nil (absent, or too large).
    mutating func number(maximum: UInt64) -> UInt64? {
        let start = self.index
        var value: UInt64 = 0
        var overflow = false
        while let byte = self.peek, SIPCharacter.isDigit(byte) {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            value = sum
            self.index += 1
        }
        guard self.index > start, !overflow, value <= maximum else { return nil }
        return value
    }
}
