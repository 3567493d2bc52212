// gatehouse-bench: request/reply latency and publish throughput through GatehouseNATS.
// `make bench` runs it next to Tests/Benchmarks/c/natsbench.c (the same work on bare libnats),
// both against the same responder (`natsbench echo`), so only the client paths differ.
import Foundation
import GatehouseNATS
import Logging

let arguments = CommandLine.arguments
let url = arguments.count > 1 ? arguments[1] : "nats://127.0.0.1:4222"
let requests = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000
let publishes = arguments.count > 3 ? Int(arguments[3]) ?? 1_000_000 : 1_000_000

var logger = Logger(label: "bench")
logger.logLevel = .warning
let client = NATSClient(configuration: NATSConfiguration(servers: [url]), logger: logger)

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

let result = try await withThrowingTaskGroup(of: String?.self) { group in
    group.addTask {
        try await client.run()
        return nil
    }
    defer { group.cancelAll() }

    try await client.flush()
    let payload = [UInt8](repeating: 0x61, count: 256)

    // Warm-up, then timed sequential round trips.
    for _ in 0..<1000 { _ = try await client.request(payload, to: "bench.echo", timeout: .seconds(5)) }
    var samples: [Double] = []
    samples.reserveCapacity(requests)
    let clock = ContinuousClock()
    for _ in 0..<requests {
        let start = clock.now
        _ = try await client.request(payload, to: "bench.echo", timeout: .seconds(5))
        let elapsed = clock.now - start
        samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
    }
    samples.sort()

    let start = clock.now
    for _ in 0..<publishes { try await client.publish(payload, to: "bench.sink") }
    try await client.flush(timeout: .seconds(60))
    let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
    return String(
        format: #"{"impl":"swift","requests":%d,"rr_p50_us":%.1f,"rr_p99_us":%.1f,"publishes":%d,"pub_msgs_per_s":%.0f}"#,
        requests,
        percentile(samples, 0.50),
        percentile(samples, 0.99),
        publishes,
        Double(publishes) / seconds
    )
}
print(result)
