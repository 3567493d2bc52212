// gatehouse-access-bench: access control's decision speed (access issue: in-process p99 < 1 ms;
// over NATS p99 < 5 ms at 2,000 decisions/s).
//
// 1. In process: the decision function alone (`DoorAuthority.decide`, a pass's weekly schedule on
//    the site's wall clock, and verifying a QR token's Ed25519 signature), timed call by call.
// 2. Over NATS: `access.present_credential` with a QR code at `RATE` per second, open loop, against
//    the release `access` service (which asks identity for the door, reads and counts the pass in
//    PostgreSQL and writes the decision through its outbox), and `access.ping` at the same rate as
//    the peer: the same service and NATS path without the decision.
//
// Usage: gatehouse-access-bench NATS_URL TENANT DOORS_FILE RATES SECONDS
// RATES is a comma-separated list (e.g. 2000,400): one present_credential run per rate, then ping at
// the first rate. The requests over NATS are sent by `natsload` (Tests/Benchmarks/c/natsload.c, path
// in NATSLOAD): bare libnats, so the load generator takes as little as it can of the cores it shares
// with the system it measures; the ping peer goes through the same generator.
// The PostgreSQL connection comes from GATEHOUSE_POSTGRES_* and the pass keys from
// GATEHOUSE_ACCESS_SECRET_KEY (the service's), so the bench can make passes the service accepts.
import AccessService
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import OpenLoopBench
import PostgresNIO
import ServiceKit

let arguments = CommandLine.arguments
let rates = arguments.count == 6 ? arguments[4].split(separator: ",").compactMap { Int($0) } : []
guard arguments.count == 6, let tenant = TenantID(arguments[2]), !rates.isEmpty, rates.allSatisfy({ $0 > 0 }), let seconds = Int(arguments[5]),
    (1...600).contains(seconds)
else {
    FileHandle.standardError.write(Data("usage: gatehouse-access-bench NATS_URL TENANT DOORS_FILE RATES SECONDS\n".utf8))
    exit(64)
}
let environment = ProcessInfo.processInfo.environment
guard let secretText = environment["GATEHOUSE_ACCESS_SECRET_KEY"], let secret = Data(base64Encoded: secretText), secret.count == 32 else {
    FileHandle.standardError.write(Data("GATEHOUSE_ACCESS_SECRET_KEY must be the service's 32-byte key in base64\n".utf8))
    exit(64)
}
// Lines: "door-id site-id".
let doors: [(door: UUID, site: UUID)] = try String(contentsOfFile: arguments[3], encoding: .utf8).split(separator: "\n").compactMap { line in
    let parts = line.split(separator: " ")
    guard parts.count == 2, let door = UUID(uuidString: String(parts[0])), let site = UUID(uuidString: String(parts[1])) else { return nil }
    return (door, site)
}
guard !doors.isEmpty else {
    FileHandle.standardError.write(Data("no doors in \(arguments[3])\n".utf8))
    exit(65)
}

var logger = Logger(label: "access-bench")
logger.logLevel = .warning

// 1. In process.
let zone = TimeZone(identifier: "Europe/Berlin")!
let keys = PassKeys(secretKey: Array(secret))
let sampleDoor = DoorInfo(
    id: doors[0].door,
    tenantId: tenant,
    siteId: doors[0].site,
    buildingId: UUID(),
    name: "Door",
    kind: "door",
    timeZone: zone.identifier,
    stations: []
)
var resident = PersonInfo(id: UUID(), tenantId: tenant, kind: "resident")
resident.residences = [.init(unitId: UUID(), siteId: sampleDoor.siteId, buildingId: sampleDoor.buildingId!, role: "owner")]
let schedule = WeeklySchedule(windows: [.init(days: Set(1...5), start: 8 * 60, end: 18 * 60), .init(days: [6], start: 9 * 60, end: 13 * 60)])
let sampleToken = try PassToken(
    tenant: tenant,
    pass: UUID(),
    validFrom: Date(),
    validUntil: Date().addingTimeInterval(3600),
    nonce: Array(repeating: 1, count: 8),
    doors: [sampleDoor.id]
).signed(with: keys.signing)
let iterations = 100_000
var inProcess: [Double] = []
inProcess.reserveCapacity(iterations)
var granted = 0
let clock = ContinuousClock()
for index in 0..<iterations {
    let started = clock.now
    let reason = DoorAuthority.decide(person: resident, door: sampleDoor)
    let open = schedule.contains(Date(timeIntervalSince1970: 1_795_000_000 + Double(index) * 61), timeZone: zone)
    let token = PassToken(verifying: sampleToken, with: keys.verifying)
    let elapsed = clock.now - started
    if reason.grants, open, token != nil { granted += 1 }
    inProcess.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
}
inProcess.sort()
let local = Run(latencies: inProcess, errors: 0, total: granted)

// 2. Over NATS, with passes the service accepts.
var postgresConfiguration = PostgresClient.Configuration(
    host: environment["GATEHOUSE_POSTGRES_HOST"] ?? "127.0.0.1",
    port: Int(environment["GATEHOUSE_POSTGRES_PORT"] ?? "5432") ?? 5432,
    username: environment["GATEHOUSE_POSTGRES_USER"] ?? "gatehouse",
    password: environment["GATEHOUSE_POSTGRES_PASSWORD"],
    database: environment["GATEHOUSE_POSTGRES_DATABASE"] ?? "gatehouse",
    tls: .disable
)
postgresConfiguration.options.maximumConnections = 4
let postgres = PostgresClient(configuration: postgresConfiguration)
let client = NATSClient(configuration: NATSConfiguration(servers: [arguments[1]]), logger: logger)
let bus = MessageBus(transport: NATSTransport(client: client), source: EventSource(service: "access-bench", instance: "bench"))

let output = try await withThrowingTaskGroup(of: String?.self) { group in
    group.addTask {
        try await client.run()
        return nil
    }
    group.addTask {
        await postgres.run()
        return nil
    }
    defer { group.cancelAll() }
    try await client.flush()
    let passes = PassStore(client: postgres, outbox: AccessService.outbox(instance: "access-bench"), secretKey: Array(secret))
    var tokens: [(door: UUID, qr: String)] = []
    for index in 0..<min(500, doors.count * 5) {
        let (door, site) = doors[index % doors.count]
        let (_, _, qr) = try await passes.create(
            tenant: tenant,
            PassInput(
                siteId: site,
                hostPersonId: UUID(),
                kind: "guest",
                label: nil,
                doorIds: [door],
                validFrom: Date().addingTimeInterval(-60),
                validUntil: Date().addingTimeInterval(86_400),
                maxUses: nil,
                schedule: nil
            ),
            pinDigits: 8,
            logger: logger
        )
        tokens.append((door, qr))
    }
    let list = tokens
    // Warm-up: connections in the pools, plans in PostgreSQL's cache.
    for index in 0..<1000 {
        let (door, qr) = list[index % list.count]
        _ = try await bus.request(PresentCredential(doorId: door, qr: qr, source: "bench"), tenant: tenant, timeout: .seconds(5))
    }
    // 3. The same decisions in this process (release build), closed loop with 64 at once: access's
    //    logic and its PostgreSQL round trips without NATS in between.
    let parts = AccessService.Parts(
        postgres: postgres,
        bus: bus,
        secretKey: Array(secret),
        commandDeadline: .seconds(3),
        instance: "access-bench"
    )
    let deskStart = ContinuousClock.now
    let deskCount = 10_000
    let desk = await openLoop(count: deskCount, rate: 1_000_000, maxInFlight: 64) { index in
        let (door, qr) = list[index % list.count]
        return try await parts.desk.present(tenant: tenant, PresentCredential(doorId: door, qr: qr, source: "bench"), logger: logger).granted
            ? 1 : 0
    }
    let deskSeconds = (ContinuousClock.now - deskStart) / .seconds(1)
    // The requests' payloads, one per line, for natsload.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("access-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let presentFile = directory.appendingPathComponent("present.jsonl")
    let pingFile = directory.appendingPathComponent("ping.jsonl")
    try Data(
        try list.map { String(decoding: try WireCoding.encode(PresentCredential(doorId: $0.door, qr: $0.qr, source: "bench")), as: UTF8.self) }
            .joined(separator: "\n").utf8
    ).write(to: presentFile)
    try WireCoding.encode(Ping(service: .access)).write(to: pingFile)
    let sample = PresentCredential(doorId: list[0].door, qr: list[0].qr, source: "bench")
    var runs: [String] = []
    for rate in rates {
        let present = try natsload(subject: sample.method.subject, rate: rate, seconds: seconds, file: presentFile)
        runs.append(#"{"rate":\#(rate),"present":\#(present)}"#)
        // Let the service finish what is still queued before the next run.
        try await Task.sleep(for: .seconds(5))
    }
    let ping = try natsload(subject: Ping(service: .access).method.subject, rate: rates[0], seconds: seconds, file: pingFile)
    try? FileManager.default.removeItem(at: directory)
    return
        #"{"seconds":\#(seconds),"passes":\#(list.count),"iterations":\#(iterations),"local":\#(local.json),"runs":[\#(runs.joined(separator: ","))],"ping_rate":\#(rates[0]),"ping":\#(ping),"desk":\#(desk.json),"desk_per_second":\#(Double(deskCount) / deskSeconds)}"#
}
print(output)

/// One open-loop run of `natsload` (its JSON line: n, errors, percentiles in µs, granted total).
func natsload(subject: String, rate: Int, seconds: Int, file: URL) throws -> String {
    guard let path = environment["NATSLOAD"] else {
        FileHandle.standardError.write(Data("NATSLOAD must name the natsload executable (scripts/bench.sh builds it)\n".utf8))
        exit(64)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = [arguments[1], subject, tenant.description, "\(rate)", "\(seconds)", file.path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        FileHandle.standardError.write(Data("natsload failed with status \(process.terminationStatus)\n".utf8))
        exit(70)
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
