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
    start = clock.now
    var verified: Int64 = 0
    for _ in 0..<(Int(environment["AUDIT_BENCH_VERIFY_ROUNDS"] ?? "1") ?? 1) {
        for tenant in tenants {
            let result = try await ChainVerifier(client: client, schema: schema).verify(tenant: tenant, logger: logger)
            precondition(result.isValid, "benchmark chain does not verify")
            verified += result.checked
        }
    }
    let verification = seconds(clock.now - start)

    // Peer of the verification: PostgreSQL streaming the same columns of the same rows to this
    // client, decoded into rows and dropped (no canonical bytes, no hashing).
    start = clock.now
    var streamed = 0
    for try await _ in try await client.query(
        PostgresQuery(unsafeSQL: "SELECT \(ChainVerifier.columns) FROM \(schema).records"),
        logger: logger
    ) {
        streamed += 1
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
        Double(verified) / verification,
        Double(streamed) / plainRead
    )
}
print(report)
