// gatehouse-audit-bench: audit chain write and verification throughput against PostgreSQL, next to
// the peer the issue names: a plain batched INSERT of the same rows (no chain, no de-duplication).
//
// Usage: gatehouse-audit-bench EVENTS (PostgreSQL from GATEHOUSE_POSTGRES_* like the services).
import AuditService
import Foundation
import GatehouseWire
import Logging
import PostgresNIO
import ServiceKit

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let batchSize = 1000
let environment = ProcessInfo.processInfo.environment
var configuration = PostgresClient.Configuration(
    host: environment["GATEHOUSE_POSTGRES_HOST"] ?? "127.0.0.1",
    port: Int(environment["GATEHOUSE_POSTGRES_PORT"] ?? "5432") ?? 5432,
    username: environment["GATEHOUSE_POSTGRES_USER"] ?? "gatehouse",
    password: environment["GATEHOUSE_POSTGRES_PASSWORD"],
    database: environment["GATEHOUSE_POSTGRES_DATABASE"] ?? "gatehouse",
    tls: .disable
)
configuration.options.maximumConnections = 4
var logger = Logger(label: "audit-bench")
logger.logLevel = .warning
let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
let source = PostgresCopySource(configuration: configuration, tls: .disable)

/// Rows counted by a COPY's row closure: `@unchecked Sendable` because that closure runs on one
/// thread, and the count is read after the copy returned.
final class RowCount: @unchecked Sendable {
    var value = 0
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// `count` classified events of 4 tenants, as the ingestor would see them.
func makeEvents() throws -> [Classified] {
    let tenants = (0..<4).map { _ in TenantID(UUID()) }
    let classifier = EventClassifier()
    return try (0..<count).map { index in
        let event = CloudEvent(
            source: EventSource(service: .access, instance: "bench"),
            time: Date(),
            subject: "door/\(index % 50)",
            tenant: tenants[index % tenants.count],
            data: ServiceStarted(service: .access, version: "bench", instance: "i-\(index)")
        )
        return classifier.classify(natsSubject: event.natsSubject, payload: Array(try WireCoding.encode(event)), streamSequence: UInt64(index + 1))
    }
}

let report = try await withThrowingTaskGroup(of: String?.self) { group in
    group.addTask {
        await client.run()
        return nil
    }
    defer { group.cancelAll() }
    let schema = "audit_bench"
    try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
    try await MigrationRunner(schema: schema, migrations: AuditService.migrations).run(on: client, logger: logger)
    try await client.query(
        PostgresQuery(unsafeSQL: "CREATE TABLE \(schema).plain (LIKE \(schema).records INCLUDING DEFAULTS)"),
        logger: logger
    )
    let events = try makeEvents()
    let clock = ContinuousClock()

    // Gatehouse: classify → chain → one transaction per batch (what the ingestor does after fetch).
    let writer = AuditWriter(client: client, schema: schema, keyring: .ephemeral())
    var start = clock.now
    for offset in stride(from: 0, to: events.count, by: batchSize) {
        _ = try await writer.write(Array(events[offset..<min(offset + batchSize, events.count)]), logger: logger)
    }
    let chained = seconds(clock.now - start)

    // Peer: the same rows, plain batched INSERT (unnest), no chain, no head locks, no duplicate check.
    let rows = events.compactMap { if case .event(let event) = $0 { event } else { nil } }
    start = clock.now
    for offset in stride(from: 0, to: rows.count, by: batchSize) {
        let batch = rows[offset..<min(offset + batchSize, rows.count)]
        var binds = PostgresBindings()
        binds.append(batch.map(\.tenant.rawValue))
        binds.append(batch.indices.map { Int64($0 + 1) })
        binds.append(batch.map(\.eventID))
        binds.append(batch.map(\.eventType))
        binds.append(batch.map(\.source))
        binds.append(batch.map(\.natsSubject))
        binds.append(batch.map { WireCoding.format($0.occurredAt) })
        binds.append(batch.map { String(decoding: $0.raw, as: UTF8.self) })
        try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(schema).plain (tenant_id, seq, event_id, event_type, source, nats_subject, occurred_at,
                                                 stream_seq, raw, prev_hash, hash)
                    SELECT t, s, e, ty, so, ns, o::timestamptz, s, convert_to(r, 'UTF8'), decode(repeat('00', 32), 'hex'),
                           decode(repeat('00', 32), 'hex')
                    FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                        AS x (t, s, e, ty, so, ns, o, r)
                    """,
                binds: binds
            ),
            logger: logger
        )
    }
    let plain = seconds(clock.now - start)

    // Verification of every tenant's chain.
    var tenants: [TenantID] = []
    for try await id in try await client.query(PostgresQuery(unsafeSQL: "SELECT tenant_id FROM \(schema).heads"), logger: logger)
        .decode(UUID.self)
    {
        tenants.append(TenantID(id))
    }
    // Several rounds (AUDIT_BENCH_VERIFY_ROUNDS, default 5); the median round is reported, so one
    // round disturbed by the machine's other tenants does not decide the figure.
    var rates: [Double] = []
    for _ in 0..<max(Int(environment["AUDIT_BENCH_VERIFY_ROUNDS"] ?? "5") ?? 5, 1) {
        start = clock.now
        var verified: Int64 = 0
        for tenant in tenants {
            let result = try await ChainVerifier(client: client, source: source, schema: schema).verify(tenant: tenant, logger: logger)
            precondition(result.isValid, "benchmark chain does not verify")
            verified += result.checked
        }
        rates.append(Double(verified) / seconds(clock.now - start))
    }
    rates.sort()
    let verification = rates[rates.count / 2]

    // Peer of the verification: PostgreSQL streaming the same columns of the same rows to this
    // process the way the verifier reads them (one binary COPY), each row parsed and dropped: no
    // canonical bytes, no hashing, no checkpoints.
    start = clock.now
    let streamed = RowCount()
    try await source.copy(setup: "SELECT 1", query: "SELECT \(ChainVerifier.columns) FROM \(schema).records", fieldCount: ChainVerifier.columnCount) {
        _ in
        streamed.value += 1
        return true
    }
    let plainRead = seconds(clock.now - start)
    if environment["AUDIT_BENCH_KEEP"] == nil {
        try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger)
    }
    return String(
        format: #"{"events":%d,"chained_per_s":%.0f,"plain_insert_per_s":%.0f,"verified_per_s":%.0f,"plain_read_per_s":%.0f}"#,
        count,
        Double(count) / chained,
        Double(rows.count) / plain,
        verification,
        Double(streamed.value) / plainRead
    )
}
print(report)
