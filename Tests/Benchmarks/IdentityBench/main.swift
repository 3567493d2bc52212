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
import OpenLoopBench
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
    return #"{"rate":\#(rate),"seconds":\#(seconds),"targets":\#(targetList.count),"resolve":\#(resolve.json),"ping":\#(ping.json)}"#
}
print(output)
