public import Foundation
import GatehouseNATS
public import GatehouseWire
public import Logging
import Metrics
public import PostgresNIO
public import ServiceLifecycle

/// A transactional outbox (decision 0008): events are written in the same PostgreSQL transaction as
/// the change they announce, and ``OutboxRelay`` publishes them to JetStream afterwards, in order,
/// at least once (`Nats-Msg-Id` = event id, so a republished event is stored once).
public struct OutboxWriter: Sendable {
    /// The schema whose `outbox` table holds the events.
    public let schema: String
    public let source: EventSource

    public init(schema: String, source: EventSource) {
        self.schema = schema
        self.source = source
    }

    /// The migration that creates `{schema}.outbox`; a service lists it among its migrations.
    public static func migration(_ name: String) -> SQLMigration {
        SQLMigration(
            name,
            [
                """
                CREATE TABLE {schema}.outbox (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    event_id UUID NOT NULL UNIQUE,
                    subject TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    traceparent TEXT,
                    payload BYTEA NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """
            ]
        )
    }

    /// Writes the event on `connection`, which must be inside the transaction of the change it
    /// announces. An event id already waiting is written once.
    @discardableResult
    public func enqueue<E: GatehouseEventData>(
        _ data: E,
        tenant: TenantID,
        subject: String? = nil,
        id: UUID = UUID(),
        time: Date = Date(),
        context: EventContext = EventContext(),
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> CloudEvent<E> {
        let event = self.event(data, tenant: tenant, subject: subject, id: id, time: time, context: context)
        try await self.insert([try Row(event)], on: connection, logger: logger)
        return event
    }

    /// The CloudEvent this writer would record.
    public func event<E: GatehouseEventData>(
        _ data: E,
        tenant: TenantID,
        subject: String? = nil,
        id: UUID = UUID(),
        time: Date = Date(),
        context: EventContext = EventContext()
    ) -> CloudEvent<E> {
        CloudEvent(
            id: id,
            source: self.source,
            time: time,
            subject: subject,
            tenant: tenant,
            traceparent: TraceContext.outgoing().description,
            context: context,
            data: data
        )
    }

    /// An event as an outbox row.
    public struct Row: Sendable {
        let id: UUID
        let subject: String
        let type: String
        let traceparent: String?
        let payload: [UInt8]

        public init<E: GatehouseEventData>(_ event: CloudEvent<E>) throws {
            self.id = event.id
            self.subject = event.natsSubject
            self.type = event.type
            self.traceparent = event.traceparent
            self.payload = Array(try WireCoding.encode(event))
        }
    }

    /// Writes several events in one statement (one round trip), in order.
    public func insert(_ rows: [Row], on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        var binds = PostgresBindings(capacity: rows.count * 5)
        var values: [String] = []
        for (index, row) in rows.enumerated() {
            let base = index * 5
            values.append("($\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4), $\(base + 5))")
            binds.append(row.id)
            binds.append(row.subject)
            binds.append(row.type)
            if let traceparent = row.traceparent { binds.append(traceparent) } else { binds.appendNull() }
            binds.append(ByteBuffer(bytes: row.payload))
        }
        try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).outbox (event_id, subject, event_type, traceparent, payload)
                    VALUES \(values.joined(separator: ", ")) ON CONFLICT (event_id) DO NOTHING
                    """,
                binds: binds
            ),
            logger: logger
        )
    }
}

/// Publishes a schema's outbox to JetStream: the oldest events first, up to `batchSize` per
/// transaction, deleting them once JetStream acknowledged them. One relay works at a time across
/// replicas (a transaction-level advisory lock), so order holds. Polls every `interval`; on
/// graceful shutdown it publishes what is waiting once more and returns.
public struct OutboxRelay: Service {
    let client: PostgresClient
    let schema: String
    let transport: any MessageTransport
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(
        client: PostgresClient,
        schema: String,
        transport: any MessageTransport,
        interval: Duration = .milliseconds(100),
        batchSize: Int = 500,
        logger: Logger
    ) {
        self.client = client
        self.schema = schema
        self.transport = transport
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        let published = Counter(label: "gatehouse.outbox.published", dimensions: [("gatehouse.schema", self.schema)])
        let failures = Counter(label: "gatehouse.outbox.failures", dimensions: [("gatehouse.schema", self.schema)])
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    var count = 0
                    repeat {
                        count = try await self.publishPending()
                        published.increment(by: count)
                    } while count == self.batchSize && !Task.isCancelled
                } catch is CancellationError {
                    return
                } catch {
                    failures.increment()
                    self.logger.warning("outbox not published; retrying", metadata: ["error.type": "\(String(reflecting: error))"])
                }
                try await Task.sleep(for: self.interval)
            }
        }
        // What the last requests wrote, once more before the process goes: within 5 s, and not at
        // all when the task was cancelled (the pool may be gone; the rows wait for the next start).
        guard !Task.isCancelled else { return }
        do {
            let count = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask { try await self.publishPending() }
                group.addTask {
                    try await Task.sleep(for: .seconds(5))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            if let count { published.increment(by: count) }
        } catch {
            self.logger.warning("outbox left unpublished at shutdown", metadata: ["error.type": "\(String(reflecting: error))"])
        }
    }

    /// Events sent before their acknowledgements are awaited.
    static let pipelineDepth = 100

    /// Publishes one batch of waiting events; returns how many (0 when another relay holds the lock).
    @discardableResult
    public func publishPending() async throws -> Int {
        try await self.client.transaction(logger: self.logger) { connection in
            var locked = false
            for try await value in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT pg_try_advisory_xact_lock(hashtext($1))",
                    binds: PostgresBindings("\(self.schema).outbox")
                ),
                logger: self.logger
            ).decode(Bool.self) {
                locked = value
            }
            guard locked else { return 0 }
            var rows: [(seq: Int64, id: UUID, subject: String, type: String, traceparent: String?, payload: ByteBuffer)] = []
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT seq, event_id, subject, event_type, traceparent, payload FROM \(self.schema).outbox
                        ORDER BY seq LIMIT \(self.batchSize)
                        """
                ),
                logger: self.logger
            ).decode((Int64, UUID, String, String, String?, ByteBuffer).self) {
                rows.append(row)
            }
            guard !rows.isEmpty else { return 0 }
            // In order, pipelined 100 at a time: one wait for a hundred acknowledgements, and a
            // failed chunk is sent again whole on the next pass (message ids de-duplicate).
            let messages = rows.map { row in
                var headers = NATSHeaders()
                headers[WireHeaders.eventType] = row.type
                if let traceparent = row.traceparent { headers[WireHeaders.traceparent] = traceparent }
                return (
                    message: NATSMessage(subject: row.subject, headers: headers, payload: Array(buffer: row.payload)),
                    messageID: row.id.lowercasedString
                )
            }
            var start = 0
            while start < messages.count {
                let end = min(start + Self.pipelineDepth, messages.count)
                try await self.transport.publishDurable(Array(messages[start..<end]), timeout: .seconds(5))
                start = end
            }
            try await connection.query(
                // Exactly the rows sent: a transaction that took a lower seq but committed after
                // this read is published by the next pass, not deleted unsent.
                PostgresQuery(
                    unsafeSQL: "DELETE FROM \(self.schema).outbox WHERE seq = ANY($1)",
                    binds: PostgresBindings(rows.map(\.seq))
                ),
                logger: self.logger
            )
            return rows.count
        }
    }
}
