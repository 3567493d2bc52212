import Crypto

/// HTTP digest arithmetic for SIP (RFC 3261 §22.4, RFC 2617, RFC 8760): identity stores `HA1`,
/// signaling checks responses against it.
public enum SIPDigest {
    /// The digest algorithms a SIP account can be challenged with.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        /// RFC 2617; what older door stations speak.
        case md5 = "MD5"
        /// RFC 8760.
        case sha256 = "SHA-256"

        /// Bytes of a digest.
        public var length: Int { self == .md5 ? 16 : 32 }
    }

    /// `H(data)` in the algorithm, as lower-case hex.
    public static func hash(_ data: some Sequence<UInt8>, _ algorithm: Algorithm) -> String {
        let bytes = Array(data)
        switch algorithm {
        case .md5: return Hex.encode(Insecure.MD5.hash(data: bytes))
        case .sha256: return Hex.encode(SHA256.hash(data: bytes))
        }
    }

    /// `HA1 = H(username ":" realm ":" password)`, lower-case hex.
    public static func ha1(username: String, realm: String, password: String, _ algorithm: Algorithm) -> String {
        self.hash(Array("\(username):\(realm):\(password)".utf8), algorithm)
    }

    /// The expected `response` for `qop=auth`:
    /// `H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(method ":" uri))`; without `qop`
    /// (RFC 2069 clients), `H(HA1 ":" nonce ":" H(method ":" uri))`.
    public static func response(
        ha1: String,
        method: String,
        uri: String,
        nonce: String,
        nonceCount: String?,
        clientNonce: String?,
        qop: String?,
        _ algorithm: Algorithm
    ) -> String {
        let ha2 = self.hash(Array("\(method):\(uri)".utf8), algorithm)
        if let qop, let nonceCount, let clientNonce {
            return self.hash(Array("\(ha1):\(nonce):\(nonceCount):\(clientNonce):\(qop):\(ha2)".utf8), algorithm)
        }
        return self.hash(Array("\(ha1):\(nonce):\(ha2)".utf8), algorithm)
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(self.digits[Int(byte >> 4)])
            out.append(self.digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of an even-length hex string (either case); `nil` for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
