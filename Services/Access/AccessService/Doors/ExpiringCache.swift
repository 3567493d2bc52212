import Synchronization

/// A small cache whose entries expire after `lifetime`: what access control keeps of identity's
/// doors, its own site settings and door controllers so a decision does not pay for a lookup each
/// time. Bounded: beyond `capacity` entries the cache empties itself (rare; the next lookups refill
/// it).
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let lifetime: Duration
    let capacity: Int
    private let entries = Mutex<[Key: (value: Value, expires: ContinuousClock.Instant)]>([:])

    init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached value, or `load()`'s (cached unless it is `nil`).
    func value(_ key: Key, load: () async throws -> Value?) async rethrows -> Value? {
        let now = ContinuousClock.now
        if let entry = self.entries.withLock({ $0[key] }), entry.expires > now { return entry.value }
        guard let value = try await load() else { return nil }
        self.entries.withLock { entries in
            if entries.count >= self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (value, now + self.lifetime)
        }
        return value
    }

    func remove(_ key: Key) { _ = self.entries.withLock { $0.removeValue(forKey: key) } }
}
