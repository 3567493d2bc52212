import Crypto

/// The signature of Gatehouse's outgoing webhooks (the generic door adapter): the header
/// `Gatehouse-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` beside
/// `Gatehouse-Timestamp: <unix seconds>`. The receiver recomputes it and refuses stale timestamps,
/// so a captured request cannot be replayed later (docs/security.md).
public enum WebhookSignature {
    public static func sign(secret: String, timestamp: Int, body: [UInt8]) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        return "v1=" + Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Whether `header` is the signature of `body` at `timestamp` (compared in constant time).
    public static func verify(_ header: String, secret: String, timestamp: Int, body: [UInt8]) -> Bool {
        let expected = Array(self.sign(secret: secret, timestamp: timestamp, body: body).utf8)
        let given = Array(header.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
