import CArgon2
import Dispatch
import Foundation

/// Memory-hard password hashing: argon2id (RFC 9106) through Debian's libargon2, with OWASP's
/// parameters (19 MiB, 2 passes, 1 lane), a random 16-byte salt and a 32-byte tag, stored in the
/// standard encoded form `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
///
/// Hashing runs on its own threads, at most ``maxConcurrentHashes`` at once, so a burst of logins
/// neither blocks Swift's cooperative pool nor takes unbounded memory.
package struct PasswordHasher: Sendable {
    package static let minimumLength = 12
    package static let maximumLength = 256
    /// Hashes computed at once per process (each takes `memoryKiB` of memory).
    package static let maxConcurrentHashes = 2

    package var iterations: UInt32 = 2
    package var memoryKiB: UInt32 = 19_456
    package var parallelism: UInt32 = 1

    static let queue = DispatchQueue(label: "gatehouse.identity.argon2", attributes: .concurrent)
    static let slots = DispatchSemaphore(value: maxConcurrentHashes)

    package init() {}

    /// Why a password is not acceptable, or nil.
    package static func problem(with password: String) -> String? {
        let count = password.count
        if count < Self.minimumLength { return "must be at least \(Self.minimumLength) characters" }
        if count > Self.maximumLength { return "must be at most \(Self.maximumLength) characters" }
        if password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "must not contain control characters" }
        return nil
    }

    package func hash(_ password: String) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let (t, m, p) = (self.iterations, self.memoryKiB, self.parallelism)
        return try await Self.run {
            let bytes = Array(password.utf8)
            let length = argon2_encodedlen(t, m, p, UInt32(salt.count), 32, Argon2_id)
            var encoded = [CChar](repeating: 0, count: length)
            let status = argon2id_hash_encoded(t, m, p, bytes, bytes.count, salt, salt.count, 32, &encoded, length)
            guard status == ARGON2_OK.rawValue else { throw PasswordHashingFailed(code: status) }
            return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Whether `password` matches `encoded` (constant time in the tag comparison).
    package func verify(_ password: String, encoded: String) async -> Bool {
        (try? await Self.run {
            let bytes = Array(password.utf8)
            return argon2id_verify(encoded, bytes, bytes.count) == ARGON2_OK.rawValue
        }) ?? false
    }

    /// A hash of nothing, verified when the account does not exist, so a missing account takes as
    /// long to refuse as a wrong password.
    package static let decoy = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                Self.slots.wait()
                defer { Self.slots.signal() }
                continuation.resume(with: Result { try work() })
            }
        }
    }
}

package struct PasswordHashingFailed: Error, Hashable {
    package var code: Int32
}
