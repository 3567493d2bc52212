import Synchronization

/// A small cache whose entries expire after `lifetime`: what access control keeps of identity's
/// doors, its own site settings, site policies and door controllers, and signaling of identity's SIP
/// accounts, so a decision or a REGISTER does not pay for a lookup each time. Bounded: beyond `capacity` entries the cache empties itself (rare; the next
/// lookups refill it). Concurrent misses of one key share a single load, so an entry expiring under
/// load costs one lookup, not one per request waiting on it.
package final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let lifetime: Duration
    let capacity: Int

    private struct State {
        var entries: [Key: (value: Value, expires: ContinuousClock.Instant)] = [:]
        /// Loads under way, and which generation of ``remove(_:)`` they started in.
        var loading: [Key: (task: Task<Value?, any Error>, generation: Int)] = [:]
        var generation = 0
    }

    private let state = Mutex(State())

    package init(lifetime: Duration, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached value, or `load()`'s (cached unless it is `nil`; shared with concurrent callers).
    package func value(_ key: Key, load: @escaping @Sendable () async throws -> Value?) async throws -> Value? {
        let now = ContinuousClock.now
        // A fresh entry, or the load to wait for.
        let (hit, pending): (Value?, Task<Value?, any Error>?) = self.state.withLock { state in
            if let entry = state.entries[key], entry.expires > now { return (entry.value, nil) }
            if let loading = state.loading[key] { return (nil, loading.task) }
            let generation = state.generation
            let task = Task<Value?, any Error> {
                let value: Value?
                do {
                    value = try await load()
                } catch {
                    self.finish(key, nil, generation: generation)
                    throw error
                }
                self.finish(key, value, generation: generation)
                return value
            }
            state.loading[key] = (task, generation)
            return (nil, task)
        }
        guard let pending else { return hit }
        return try await pending.value
    }

    private func finish(_ key: Key, _ value: Value?, generation: Int) {
        self.state.withLock { state in
            if state.loading[key]?.generation == generation { state.loading[key] = nil }
            // A removal while loading means the loaded value may be stale: it is not kept.
            guard let value, state.generation == generation else { return }
            if state.entries.count >= self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = (value, ContinuousClock.now + self.lifetime)
        }
    }

    /// Forgets everything (a change whose keys are not known); loads under way are not kept.
    package func removeAll() {
        self.state.withLock { state in
            state.entries.removeAll()
            state.loading.removeAll()
            state.generation += 1
        }
    }

    /// Forgets `key` (the instance changed it): the next lookup loads it again, and a load already
    /// under way is neither shared with later callers nor kept.
    package func remove(_ key: Key) {
        self.state.withLock { state in
            state.entries[key] = nil
            state.loading[key] = nil
            state.generation += 1
        }
    }
}
