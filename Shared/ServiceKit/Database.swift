import Foundation
public import Logging
public import PostgresNIO

/// One forward-only schema change. `name` is stored once applied: never rename or edit a
/// migration that has shipped; add a new one.
public protocol DatabaseMigration: Sendable {
    var name: String { get }
    func apply(on connection: PostgresConnection, schema: String, logger: Logger) async throws
}

/// A migration that is plain SQL; `{schema}` is replaced by the service's schema name.
public struct SQLMigration: DatabaseMigration {
    public let name: String
    public let statements: [String]

    public init(_ name: String, _ statements: [String]) {
        self.name = name
        self.statements = statements
    }

    public func apply(on connection: PostgresConnection, schema: String, logger: Logger) async throws {
        for statement in self.statements {
            let sql = statement.replacingOccurrences(of: "{schema}", with: schema)
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }
}

extension PostgresBindings {
    /// Bindings for `$1, $2, …` in order: `PostgresBindings(tenant, slug, names)`.
    public init(_ values: any PostgresDynamicTypeEncodable...) {
        self.init(capacity: values.count)
        for value in values { self.append(value) }
    }
}

extension SQLMigration {
    /// The first migration of every service: a key-value table for service-level facts.
    public static let serviceMetadata = SQLMigration(
        "0001_service_metadata",
        [
            """
            CREATE TABLE IF NOT EXISTS {schema}.service_metadata (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """
        ]
    )
}

/// Applies a service's migrations in its own PostgreSQL schema.
///
/// Everything happens in one transaction under `pg_advisory_xact_lock(<key of the schema>)`, so two
/// replicas starting together apply each migration exactly once: the second waits, then finds
/// nothing left to do. A failing migration rolls back with everything before it in the same run.
public struct MigrationRunner: Sendable {
    public let schema: String
    public let migrations: [any DatabaseMigration]

    public init(schema: String, migrations: [any DatabaseMigration]) {
        precondition(schema.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && !schema.isEmpty)
        precondition(Set(migrations.map(\.name)).count == migrations.count, "migration names must be unique")
        self.schema = schema
        self.migrations = migrations
    }

    /// The advisory-lock key: a stable 64-bit FNV-1a hash of the schema name.
    public var lockKey: Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "gatehouse.migrations.\(self.schema)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Applies what is missing; returns the names applied by this call.
    @discardableResult
    public func run(on client: PostgresClient, logger: Logger) async throws -> [String] {
        let schema = self.schema
        let migrations = self.migrations
        let lockKey = self.lockKey
        do {
            return try await self.runLocked(on: client, schema: schema, migrations: migrations, lockKey: lockKey, logger: logger)
        } catch let error as PostgresTransactionError {
            // Surface what the migration threw, not the transaction wrapper.
            throw error.closureError ?? error
        }
    }

    private func runLocked(
        on client: PostgresClient,
        schema: String,
        migrations: [any DatabaseMigration],
        lockKey: Int64,
        logger: Logger
    ) async throws -> [String] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (
                            name TEXT PRIMARY KEY,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                        )
                        """
                ),
                logger: logger
            )
            var applied = Set<String>()
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT name FROM \(schema).schema_migrations"),
                logger: logger
            )
            for try await name in rows.decode(String.self) { applied.insert(name) }

            var appliedNow: [String] = []
            for migration in migrations where !applied.contains(migration.name) {
                do {
                    try await migration.apply(on: connection, schema: schema, logger: logger)
                } catch {
                    throw GatehouseError.migrationFailed("\(schema) \(migration.name): \(String(reflecting: error))")
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(schema).schema_migrations (name) VALUES ($1)",
                        binds: {
                            var binds = PostgresBindings(); binds.append(migration.name); return binds
                        }()
                    ),
                    logger: logger
                )
                appliedNow.append(migration.name)
            }
            return appliedNow
        }
    }
}

extension PostgresClient {
    /// `withTransaction`, throwing what `body` threw rather than the `PostgresTransactionError`
    /// that wraps it, so callers match their own errors.
    public func transaction<T: Sendable>(
        logger: Logger,
        _ body: (PostgresConnection) async throws -> sending T
    ) async throws -> T {
        do {
            return try await self.withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
