/// HTTP digest authentication on the client side (RFC 7616 with `qop=auth`, RFC 2617 without):
/// how access control talks to door stations' HTTP APIs (2N, Akuvox), and how the door simulator
/// checks it. The arithmetic is ``SIPDigest``'s.
public enum HTTPDigest {
    /// The `name=value` parameters of a `Digest …` challenge or credentials header, names in lower
    /// case; `nil` when the header is not a well-formed digest header.
    public static func parameters(_ header: String) -> [String: String]? {
        var rest = Substring(header).drop { $0 == " " }
        guard rest.prefix(6).lowercased() == "digest", rest.dropFirst(6).first == " " else { return nil }
        rest = rest.dropFirst(7)
        var fields: [String: String] = [:]
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            if rest.isEmpty { break }
            guard let equals = rest.firstIndex(of: "=") else { return nil }
            let name = rest[..<equals].trimmingSpaces().lowercased()
            guard !name.isEmpty, fields[name] == nil else { return nil }
            rest = rest[rest.index(after: equals)...].drop { $0 == " " }
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        value.append(escaped)
                        rest = rest.dropFirst()
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { return nil }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end].trimmingSpaces())
                rest = rest[end...]
            }
            fields[name] = value
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard rest.isEmpty || rest.first == "," else { return nil }
            rest = rest.dropFirst()
        }
        return fields
    }

    /// The `Authorization` value answering `challenge` (a `WWW-Authenticate: Digest …` value) for
    /// `method uri`; `nil` when the challenge is malformed or names an algorithm other than MD5 or
    /// SHA-256. `clientNonce` is random per request; the nonce count is `00000001` (one request
    /// per challenge).
    public static func authorization(
        challenge: String,
        username: String,
        password: String,
        method: String,
        uri: String,
        clientNonce: String
    ) -> String? {
        guard let fields = self.parameters(challenge), let realm = fields["realm"], let nonce = fields["nonce"] else { return nil }
        let algorithmName = fields["algorithm"] ?? "MD5"
        guard let algorithm = SIPDigest.Algorithm.allCases.first(where: { $0.rawValue.lowercased() == algorithmName.lowercased() }) else {
            return nil
        }
        let offersAuth = fields["qop"].map { $0.split(separator: ",").contains { $0.trimmingSpaces() == "auth" } } ?? false
        let nonceCount = "00000001"
        let ha1 = SIPDigest.ha1(username: username, realm: realm, password: password, algorithm)
        let response = SIPDigest.response(
            ha1: ha1,
            method: method,
            uri: uri,
            nonce: nonce,
            nonceCount: offersAuth ? nonceCount : nil,
            clientNonce: offersAuth ? clientNonce : nil,
            qop: offersAuth ? "auth" : nil,
            algorithm
        )
        func quoted(_ text: String) -> String {
            "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        }
        var parts = [
            "username=\(quoted(username))", "realm=\(quoted(realm))", "nonce=\(quoted(nonce))", "uri=\(quoted(uri))",
            "algorithm=\(algorithm.rawValue)", "response=\(quoted(response))",
        ]
        if offersAuth { parts += ["qop=auth", "nc=\(nonceCount)", "cnonce=\(quoted(clientNonce))"] }
        if let opaque = fields["opaque"] { parts.append("opaque=\(quoted(opaque))") }
        return "Digest " + parts.joined(separator: ", ")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
