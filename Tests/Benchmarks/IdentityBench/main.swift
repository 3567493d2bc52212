// gatehouse-identity-bench: latency of `identity.resolve_dial` over NATS at a fixed request rate,
// against the release `identity` service and its PostgreSQL (`make bench` starts both), with
// `identity.ping` at the same rate as the peer: the same service, subject layout and NATS path
// without the lookup.
//
// Open loop: request i is due at start + i / rate and its latency is measured from that instant,
// so a stall delays the requests behind it and shows in the percentiles (no coordinated omission).
//
// Usage: gatehouse-identity-bench NATS_URL TARGETS_FILE RATE SECONDS
// TARGETS_FILE holds one "sip-domain dial-number" pair per line.
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import ServiceKit

let arguments = CommandLine.arguments
guard arguments.count == 5, let rate = Int(arguments[3]), let seconds = Int(arguments[4]), rate > 0, (1...600).contains(seconds) else {
    FileHandle.standardError.write(Data("usage: gatehouse-identity-bench NATS_URL TARGETS_FILE RATE SECONDS\n".utf8))
    exit(64)
}
let url = arguments[1]
let targets = try String(contentsOfFile: arguments[2], encoding: .utf8).split(separator: "\n").compactMap { line -> ResolveDialTarget? in
    let parts = line.split(separator: " ")
    return parts.count == 2 ? ResolveDialTarget(sipDomain: String(parts[0]), dialled: String(parts[1])) : nil
}
guard !targets.isEmpty else {
    FileHandle.standardError.write(Data("no targets in \(arguments[2])\n".utf8))
    exit(65)
}

var logger = Logger(label: "identity-bench")
logger.logLevel = .warning
let client = NATSClient(configuration: NATSConfiguration(servers: [url]), logger: logger)
let bus = MessageBus(transport: NATSTransport(client: client), source: EventSource(service: "identity-bench", instance: "bench"))

struct Run: Sendable {
    var latencies: [Double]  // microseconds, sorted
    var errors: Int
    var steps: Int

    func percentile(_ p: Double) -> Double {
        self.latencies.isEmpty ? 0 : self.latencies[min(self.latencies.count - 1, Int(Double(self.latencies.count) * p))]
    }
}

/// `count` requests at `rate` per second; `send(i)` returns the number of ring steps (or 0).
func openLoop(count: Int, rate: Int, _ send: @escaping @Sendable (Int) async throws -> Int) async -> Run {
    let clock = ContinuousClock()
    let start = clock.now + .milliseconds(50)
    let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
    return await withTaskGroup(of: (Double, Bool, Int).self) { group in
        for index in 0..<count {
            let due = start + interval * index
            try? await Task.sleep(until: due, clock: clock)
            group.addTask {
                do {
                    let steps = try await send(index)
                    let elapsed = clock.now - due
                    return (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12, true, steps)
                } catch {
                    return (0, false, 0)
                }
            }
        }
        var run = Run(latencies: [], errors: 0, steps: 0)
        run.latencies.reserveCapacity(count)
        for await (latency, ok, steps) in group {
            if ok {
                run.latencies.append(latency)
                run.steps += steps
            } else {
                run.errors += 1
            }
        }
        run.latencies.sort()
        return run
    }
}

let output = try await withThrowingTaskGroup(of: String?.self) { group in
    group.addTask {
        try await client.run()
        return nil
    }
    defer { group.cancelAll() }
    try await client.flush()

    let count = rate * seconds
    let targetList = targets
    // Warm-up: connections in the pool, plans in PostgreSQL's cache.
    for index in 0..<min(2000, targetList.count) {
        _ = try await bus.request(targetList[index], timeout: .seconds(5))
    }
    let resolve = await openLoop(count: count, rate: rate) { index in
        try await bus.request(targetList[index % targetList.count], timeout: .seconds(5)).steps.count
    }
    let ping = await openLoop(count: count, rate: rate) { _ in
        _ = try await bus.request(Ping(service: .identity), timeout: .seconds(5))
        return 0
    }
    func describe(_ run: Run) -> String {
        String(
            format: #"{"n":%d,"errors":%d,"p50_us":%.0f,"p99_us":%.0f,"p999_us":%.0f,"max_us":%.0f,"steps":%d}"#,
            run.latencies.count,
            run.errors,
            run.percentile(0.50),
            run.percentile(0.99),
            run.percentile(0.999),
            run.latencies.last ?? 0,
            run.steps
        )
    }
    return #"{"rate":\#(rate),"seconds":\#(seconds),"targets":\#(targetList.count),"resolve":\#(describe(resolve)),"ping":\#(describe(ping))}"#
}
print(output)
