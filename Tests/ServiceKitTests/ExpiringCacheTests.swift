import ServiceKit
import Synchronization
import Testing

/// The caches in front of identity and PostgreSQL: concurrent misses share one load, and a
/// change made while a load runs is not hidden by it.
struct ExpiringCacheTests {
    final class Loads: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test func concurrentMissesShareOneLoad() async throws {
        let cache = ExpiringCache<Int, String>(lifetime: .seconds(60))
        let loads = Loads()
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await cache.value(1) {
                        loads.count.add(1, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(100))
                        return "door"
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values.count == 50 && values.allSatisfy { $0 == "door" })
        #expect(loads.count.load(ordering: .relaxed) == 1)
        // Cached now: no further load.
        #expect(try await cache.value(1) { "other" } == "door")
    }

    @Test func aRemovalDuringALoadKeepsTheLoadedValueOutOfTheCache() async throws {
        let cache = ExpiringCache<Int, String>(lifetime: .seconds(60))
        let started = AsyncStream.makeStream(of: Void.self)
        let loading = Task {
            try await cache.value(7) {
                started.continuation.yield()
                try await Task.sleep(for: .milliseconds(200))
                return "before the change"
            }
        }
        var iterator = started.stream.makeAsyncIterator()
        await iterator.next()
        cache.remove(7)
        #expect(try await loading.value == "before the change")
        #expect(try await cache.value(7) { "after the change" } == "after the change")
    }

    @Test func failuresAndNilAreNotCached() async throws {
        struct Failure: Error {}
        let cache = ExpiringCache<Int, String>(lifetime: .seconds(60))
        await #expect(throws: Failure.self) { try await cache.value(3) { throw Failure() } }
        #expect(try await cache.value(3) { nil } == nil)
        #expect(try await cache.value(3) { "found" } == "found")
    }

    @Test func removeAllForgetsEveryEntry() async throws {
        let cache = ExpiringCache<Int, String>(lifetime: .seconds(60))
        #expect(try await cache.value(1) { "one" } == "one")
        #expect(try await cache.value(2) { "two" } == "two")
        #expect(try await cache.value(1) { "changed" } == "one")
        cache.removeAll()
        #expect(try await cache.value(1) { "changed" } == "changed")
        #expect(try await cache.value(2) { "again" } == "again")
    }
}
