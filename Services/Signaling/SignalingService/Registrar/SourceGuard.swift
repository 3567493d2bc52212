import Synchronization

/// Per-address flood and brute-force protection: a token bucket for requests, and a ban after
/// repeated failed authentications. Banned addresses are dropped unanswered so a scanner learns
/// nothing more; other addresses are unaffected.
final class SourceGuard: Sendable {
    struct Entry {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
        var failures: [ContinuousClock.Instant] = []
        var bannedUntil: ContinuousClock.Instant?
    }

    enum Verdict: Equatable {
        case allow
        /// Over the rate: answer 503 with Retry-After (or drop, for a flood).
        case limited
        /// Banned: drop.
        case banned
    }

    let policy: SignalingConfiguration.SecurityPolicy
    /// Addresses tracked at most; the least recently refilled are forgotten beyond it.
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(policy: SignalingConfiguration.SecurityPolicy, capacity: Int = 100_000) {
        self.policy = policy
        self.capacity = capacity
    }

    /// Whether a request from `address` may be processed now.
    func admit(_ address: String, now: ContinuousClock.Instant = .now) -> Verdict {
        guard !self.policy.trustedAddresses.contains(address) else { return .allow }
        let policy = self.policy
        return self.entries.withLock { entries in
            var entry = entries[address] ?? Entry(tokens: policy.burst, refilledAt: now)
            defer { entries[address] = entry }
            if let until = entry.bannedUntil {
                if now < until { return .banned }
                entry.bannedUntil = nil
                entry.failures.removeAll()
            }
            let elapsed = Double((now - entry.refilledAt).components.attoseconds) / 1e18 + Double((now - entry.refilledAt).components.seconds)
            entry.tokens = Swift.min(policy.burst, entry.tokens + elapsed * policy.requestsPerSecond)
            entry.refilledAt = now
            guard entry.tokens >= 1 else { return .limited }
            entry.tokens -= 1
            if entries.count >= self.capacity { self.evict(&entries, now: now) }
            return .allow
        }
    }

    /// Counts a failed authentication; returns true when it got the address banned.
    @discardableResult
    func failed(_ address: String, now: ContinuousClock.Instant = .now) -> Bool {
        guard !self.policy.trustedAddresses.contains(address) else { return false }
        let policy = self.policy
        return self.entries.withLock { entries in
            var entry = entries[address] ?? Entry(tokens: policy.burst, refilledAt: now)
            defer { entries[address] = entry }
            entry.failures.removeAll { now - $0 > policy.failureWindow }
            entry.failures.append(now)
            if entry.failures.count >= policy.failuresBeforeBan {
                entry.bannedUntil = now + policy.banDuration
                return true
            }
            return false
        }
    }

    /// A successful authentication clears the address's failures.
    func succeeded(_ address: String) {
        self.entries.withLock { entries in entries[address]?.failures.removeAll() }
    }

    func isBanned(_ address: String, now: ContinuousClock.Instant = .now) -> Bool {
        self.entries.withLock { entries in entries[address]?.bannedUntil.map { now < $0 } ?? false }
    }

    /// Forgets idle, unbanned addresses (full buckets, no failures), then the oldest if still full.
    private func evict(_ entries: inout [String: Entry], now: ContinuousClock.Instant) {
        entries = entries.filter { _, entry in
            entry.bannedUntil.map { now < $0 } ?? false || !entry.failures.isEmpty || now - entry.refilledAt < .seconds(60)
        }
        if entries.count >= self.capacity {
            let oldest = entries.sorted { $0.value.refilledAt < $1.value.refilledAt }.prefix(entries.count - self.capacity / 2)
            for (key, _) in oldest { entries.removeValue(forKey: key) }
        }
    }
}
