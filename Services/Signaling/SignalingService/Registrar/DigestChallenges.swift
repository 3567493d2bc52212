import Crypto
import Foundation
import GatehouseAuth
import GatehouseSIP
import Synchronization

/// Issues and checks digest nonces (RFC 3261 §22.4, RFC 8760) without storing them: a nonce is
/// `base64url(issued-at ‖ random ‖ MAC)`, MAC'd with this instance's key. Only the highest
/// nonce-count seen per nonce is remembered, to refuse replays; so a nonce is good on the instance
/// that issued it, and another instance answers correct credentials on a foreign nonce with
/// `stale=true` (decision 0011).
final class DigestChallenges: Sendable {
    enum Check: Equatable {
        case valid
        /// Well-formed and ours, but too old: challenge again with `stale=true`.
        case stale
        /// Forged, of another instance or key, or replayed.
        case invalid
    }

    let key: SymmetricKey
    let lifetime: Duration
    /// Nonces whose counts are tracked at most (oldest dropped first; a dropped nonce is stale).
    let capacity: Int
    private let counts = Mutex<[String: (count: UInt32, issued: UInt64)]>([:])

    init(key: SymmetricKey = SymmetricKey(size: .bits256), lifetime: Duration, capacity: Int = 200_000) {
        self.key = key
        self.lifetime = lifetime
        self.capacity = capacity
    }

    static func nowMilliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    /// A new nonce.
    func nonce(now: UInt64 = DigestChallenges.nowMilliseconds()) -> String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: now.bigEndian) { bytes.append(contentsOf: $0) }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<12 { bytes.append(UInt8.random(in: 0...255, using: &random)) }
        let mac = HMAC<SHA256>.authenticationCode(for: bytes, using: self.key)
        bytes.append(contentsOf: mac.prefix(16))
        return Base64URL.encode(bytes)
    }

    /// Checks a nonce and its count `nc` (8 hex digits, strictly increasing per nonce).
    func check(nonce: String, nonceCount: String?, now: UInt64 = DigestChallenges.nowMilliseconds()) -> Check {
        guard let bytes = Base64URL.decode(nonce), bytes.count == 36 else { return .invalid }
        let body = Array(bytes[0..<20])
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: self.key)
        guard Array(mac.prefix(16)).constantTimeEquals(Array(bytes[20..<36])) else { return .invalid }
        let issued = body[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let lifetime = UInt64(self.lifetime.components.seconds) * 1000
        guard issued <= now + 5_000, now - Swift.min(now, issued) <= lifetime else { return .stale }
        guard let nonceCount, nonceCount.utf8.count == 8, let count = UInt32(nonceCount, radix: 16), count > 0 else { return .invalid }
        return self.counts.withLock { counts in
            if let seen = counts[nonce], count <= seen.count { return .invalid }
            if counts[nonce] == nil, counts.count >= self.capacity {
                // Forget expired nonces first; a still-valid forgotten one could be replayed once,
                // so the oldest go only when nothing has expired.
                counts = counts.filter { now - Swift.min(now, $0.value.issued) <= lifetime }
                if counts.count >= self.capacity {
                    for (key, _) in counts.sorted(by: { $0.value.issued < $1.value.issued }).prefix(self.capacity / 4) {
                        counts.removeValue(forKey: key)
                    }
                }
            }
            counts[nonce] = (count, issued)
            return .valid
        }
    }
}

extension Array where Element == UInt8 {
    func constantTimeEquals(_ other: [UInt8]) -> Bool {
        guard self.count == other.count else { return false }
        var difference: UInt8 = 0
        for index in self.indices { difference |= self[index] ^ other[index] }
        return difference == 0
    }
}
