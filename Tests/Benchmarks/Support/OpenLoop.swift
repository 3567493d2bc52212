import Foundation

/// Latencies of one open-loop run, sorted, in microseconds.
public struct Run: Sendable {
    public var latencies: [Double]
    public var errors: Int
    /// What the requests returned, summed (e.g. ring steps).
    public var total: Int

    public init(latencies: [Double], errors: Int, total: Int) {
        self.latencies = latencies
        self.errors = errors
        self.total = total
    }

    public func percentile(_ p: Double) -> Double {
        self.latencies.isEmpty ? 0 : self.latencies[min(self.latencies.count - 1, Int(Double(self.latencies.count) * p))]
    }

    /// `{"n", "errors", "p50_us", "p99_us", "p999_us", "max_us", "total"}`.
    public var json: String {
        String(
            format: #"{"n":%d,"errors":%d,"p50_us":%.0f,"p99_us":%.0f,"p999_us":%.0f,"max_us":%.0f,"total":%d}"#,
            self.latencies.count,
            self.errors,
            self.percentile(0.50),
            self.percentile(0.99),
            self.percentile(0.999),
            self.latencies.last ?? 0,
            self.total
        )
    }
}

/// `count` requests at `rate` per second, open loop: request i is due at start + i / rate and its
/// latency is measured from that instant, so a stall delays the requests behind it and shows in the
/// percentiles (no coordinated omission). `send(i)` returns a number to sum, or throws (an error).
public func openLoop(
    count: Int,
    rate: Int,
    maxInFlight: Int = .max,
    _ send: @escaping @Sendable (Int) async throws -> Int
) async -> Run {
    let clock = ContinuousClock()
    let start = clock.now + .milliseconds(50)
    let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
    return await withTaskGroup(of: (Double, Bool, Int).self) { group in
        var run = Run(latencies: [], errors: 0, total: 0)
        run.latencies.reserveCapacity(count)
        func record(_ result: (Double, Bool, Int)) {
            if result.1 {
                run.latencies.append(result.0)
                run.total += result.2
            } else {
                run.errors += 1
            }
        }
        for index in 0..<count {
            let due = start + interval * index
            try? await Task.sleep(until: due, clock: clock)
            // A closed loop (`maxInFlight`): the next request waits for one to finish.
            if index >= maxInFlight, let result = await group.next() { record(result) }
            group.addTask {
                do {
                    let value = try await send(index)
                    let elapsed = clock.now - due
                    return (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12, true, value)
                } catch {
                    return (0, false, 0)
                }
            }
        }
        for await result in group { record(result) }
        run.latencies.sort()
        return run
    }
}
