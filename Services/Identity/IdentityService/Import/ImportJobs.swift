package import Foundation
import GatehouseAuth
package import GatehouseWire
import HTTPTypes
package import Hummingbird
package import Logging
import NIOCore
package import PostgresNIO
package import ServiceKit
import ServiceLifecycle
import Synchronization

/// An HTTP import as a job: its state in `identity.import_jobs`, readable while it runs.
package struct ImportJob: Codable, Sendable, Hashable {
    package enum Status: String, Codable, Sendable { case queued, running, succeeded, failed }

    package var id: String
    package var status: Status
    package var dryRun: Bool
    /// The step running (`sites`, `buildings`, `units`, `people`, `residences`) and its progress.
    package var phase: String?
    package var done: Int
    package var total: Int
    package var result: ImportResult?
    package var problems: [ImportProblem]?
    package var error: String?
    package var createdAt: Date
    package var finishedAt: Date?
}

/// Import jobs in the identity schema.
package struct ImportJobStore: Sendable {
    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    /// A job whose process stopped before it finished (no heartbeat for this long) is reported failed.
    static let staleAfterSeconds = 60

    package func create(tenant: TenantID, dryRun: Bool, logger: Logger) async throws -> UUID {
        let id = UUID()
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).import_jobs (id, tenant_id, status, dry_run, heartbeat_at) VALUES ($1, $2, 'queued', $3, now())
                    """,
                binds: PostgresBindings(id, tenant.rawValue, dryRun)
            ),
            logger: logger
        )
        return id
    }

    package func get(tenant: TenantID, id: UUID, logger: Logger) async throws -> ImportJob? {
        for try await (status, dryRun, phase, done, total, result, problems, error, created, finished, stale) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT status, dry_run, phase, done, total, result::text, problems::text, error, created_at, finished_at,
                        status IN ('queued', 'running') AND heartbeat_at < now() - interval '\(Self.staleAfterSeconds) seconds'
                    FROM \(self.schema).import_jobs WHERE tenant_id = $1 AND id = $2
                    """,
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ).decode((String, Bool, String?, Int, Int, String?, String?, String?, Date, Date?, Bool).self) {
            let decoder = JSONDecoder()
            return ImportJob(
                id: id.lowercasedString,
                status: stale ? .failed : ImportJob.Status(rawValue: status) ?? .failed,
                dryRun: dryRun,
                phase: phase,
                done: done,
                total: total,
                result: try result.map { try decoder.decode(ImportResult.self, from: Data($0.utf8)) },
                problems: try problems.map { try decoder.decode([ImportProblem].self, from: Data($0.utf8)) },
                error: stale ? "the import stopped with the process that ran it; send the file again" : error,
                createdAt: created,
                finishedAt: finished
            )
        }
        return nil
    }

    func progress(_ id: UUID, status: ImportJob.Status, phase: String?, done: Int, total: Int, logger: Logger) async throws {
        var binds = PostgresBindings(id, status.rawValue)
        if let phase { binds.append(phase) } else { binds.appendNull() }
        binds.append(done)
        binds.append(total)
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).import_jobs SET status = $2, phase = $3, done = $4, total = $5, heartbeat_at = now(),
                        started_at = COALESCE(started_at, now())
                    WHERE id = $1
                    """,
                binds: binds
            ),
            logger: logger
        )
    }

    func finish(_ id: UUID, result: ImportResult?, problems: [ImportProblem]?, error: String?, logger: Logger) async throws {
        let encoder = JSONEncoder()
        var binds = PostgresBindings(id, result != nil ? "succeeded" : "failed")
        for json in [try result.map { try encoder.encode($0) }, try problems.map { try encoder.encode($0) }] {
            if let json { binds.append(String(decoding: json, as: UTF8.self)) } else { binds.appendNull() }
        }
        if let error { binds.append(error) } else { binds.appendNull() }
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).import_jobs SET status = $2, result = $3::jsonb, problems = $4::jsonb, error = $5,
                        finished_at = now(), heartbeat_at = now()
                    WHERE id = $1
                    """,
                binds: binds
            ),
            logger: logger
        )
    }
}

/// Runs HTTP imports one at a time, in the order they came (a second upload waits: imports are
/// large transactions, and one at a time keeps the database responsive).
package struct ImportJobRunner: Service {
    package struct Job: Sendable {
        var id: UUID
        var tenant: TenantID
        var csv: [UInt8]
        var dryRun: Bool
    }

    let client: PostgresClient
    let jobs: ImportJobStore
    let logger: Logger
    let queue: AsyncStream<Job>
    let continuation: AsyncStream<Job>.Continuation

    /// Uploads waiting beyond this are refused (503) rather than held in memory.
    package static let maxQueued = 4

    package init(client: PostgresClient, schema: String = IdentityService.schema, logger: Logger) {
        self.client = client
        self.jobs = ImportJobStore(client: client, schema: schema)
        self.logger = logger
        (self.queue, self.continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingOldest(Self.maxQueued))
    }

    /// Queues the job; `false` when the queue is full.
    package func submit(_ job: Job) -> Bool {
        if case .enqueued = self.continuation.yield(job) { return true }
        return false
    }

    package func run() async throws {
        await withGracefulShutdownHandler {
            for await job in self.queue {
                await self.execute(job)
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
    }

    func execute(_ job: Job) async {
        do {
            try await self.jobs.progress(job.id, status: .running, phase: "parsing", done: 0, total: 0, logger: self.logger)
            let plan: ImportPlan
            do {
                plan = ImportPlan(records: try CSVReader().parse(job.csv))
            } catch {
                try await self.jobs.finish(
                    job.id,
                    result: nil,
                    problems: [ImportProblem(line: error.line, reason: error.reason)],
                    error: nil,
                    logger: self.logger
                )
                return
            }
            guard plan.isValid else {
                try await self.jobs.finish(job.id, result: nil, problems: plan.problems, error: nil, logger: self.logger)
                return
            }
            var slug: String?
            for try await value in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: "SELECT slug FROM \(self.jobs.schema).tenants WHERE id = $1",
                    binds: PostgresBindings(job.tenant.rawValue)
                ),
                logger: self.logger
            ).decode(String.self) {
                slug = value
            }
            guard let slug else {
                try await self.jobs.finish(job.id, result: nil, problems: nil, error: "no such tenant", logger: self.logger)
                return
            }
            // Progress goes to the job row at most every 250 ms and at each new phase.
            let reporter = ProgressWriter(jobs: self.jobs, id: job.id, logger: self.logger)
            let result = try await ImportStore(client: self.client, schema: self.jobs.schema).apply(
                plan,
                tenantSlug: slug,
                dryRun: job.dryRun,
                logger: self.logger
            ) { progress in
                reporter.offer(progress)
            }
            await reporter.flush()
            try await self.jobs.finish(job.id, result: result, problems: nil, error: nil, logger: self.logger)
        } catch let error as ImportError {
            try? await self.jobs.finish(job.id, result: nil, problems: error.problems, error: nil, logger: self.logger)
        } catch {
            self.logger.error("import job failed", metadata: ["gatehouse.job": "\(job.id)", "error.type": "\(String(reflecting: error))"])
            try? await self.jobs.finish(job.id, result: nil, problems: nil, error: "the import failed; nothing was written", logger: self.logger)
        }
    }
}

/// Throttles progress writes: the import reports synchronously, the row is written in a task.
final class ProgressWriter: Sendable {
    let jobs: ImportJobStore
    let id: UUID
    let logger: Logger
    private let state = Mutex<(last: ContinuousClock.Instant?, phase: String?, pending: Task<Void, Never>?)>((nil, nil, nil))

    init(jobs: ImportJobStore, id: UUID, logger: Logger) {
        self.jobs = jobs
        self.id = id
        self.logger = logger
    }

    func offer(_ progress: ImportProgress) {
        let now = ContinuousClock.now
        self.state.withLock { state in
            if state.phase == progress.phase, let last = state.last, now - last < .milliseconds(250) { return }
            state.last = now
            state.phase = progress.phase
            let previous = state.pending
            let (jobs, id, logger) = (self.jobs, self.id, self.logger)
            state.pending = Task {
                await previous?.value
                try? await jobs.progress(id, status: .running, phase: progress.phase, done: progress.done, total: progress.total, logger: logger)
            }
        }
    }

    func flush() async {
        await self.state.withLock { $0.pending }?.value
    }
}

/// `POST /v1/tenants/{tenant}/imports` (a CSV file → a job), `GET …/imports/{job}` (its state) and
/// `GET /v1/tenants/{tenant}/export.csv` (the tenant's units and residents in the import format).
package struct ImportAPI: Sendable {
    /// Largest upload: 16 MiB (about 150,000 rows).
    package static let maxUploadBytes = 16 * 1024 * 1024

    let runner: ImportJobRunner
    let jobs: ImportJobStore
    let store: ImportStore
    let keys: AuthKeys

    package init(client: PostgresClient, schema: String = IdentityService.schema, runner: ImportJobRunner, keys: AuthKeys) {
        self.runner = runner
        self.jobs = ImportJobStore(client: client, schema: schema)
        self.store = ImportStore(client: client, schema: schema)
        self.keys = keys
    }

    package func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/tenants/:tenant/imports") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "text/csv" else {
                throw Problem(slug: "unsupported-media-type", title: "Unsupported media type", status: .unsupportedMediaType, detail: "send text/csv")
            }
            var dryRun = false
            if let text = request.uri.queryParameters["dryRun"] {
                guard text == "true" || text == "false" else {
                    throw Problem.badRequest("invalid query", errors: [.init(field: "dryRun", message: "must be true or false")])
                }
                dryRun = text == "true"
            }
            var body = request
            let csv = Array(buffer: try await body.collectBody(upTo: Self.maxUploadBytes))
            let id = try await self.jobs.create(tenant: tenant, dryRun: dryRun, logger: context.logger)
            guard self.runner.submit(.init(id: id, tenant: tenant, csv: csv, dryRun: dryRun)) else {
                try await self.jobs.finish(id, result: nil, problems: nil, error: "too many imports waiting", logger: context.logger)
                throw Problem.unavailable("\(ImportJobRunner.maxQueued) imports are waiting already; retry later")
            }
            let job = try await self.jobs.get(tenant: tenant, id: id, logger: context.logger)
            return try Response.json(job, status: .accepted, headers: [.location: "/v1/tenants/\(tenant)/imports/\(id.lowercasedString)"])
        }
        router.get("/v1/tenants/:tenant/imports/:job") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            guard let id = context.parameters.get("job").flatMap(UUID.init(uuidString:)),
                let job = try await self.jobs.get(tenant: tenant, id: id, logger: context.logger)
            else { throw Problem.notFound("no such import") }
            return try Response.json(job)
        }
        router.get("/v1/tenants/:tenant/export.csv") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let csv = try await self.store.exportCSV(tenant: tenant, logger: context.logger)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8", .contentDisposition: #"attachment; filename="units.csv""#, .cacheControl: "no-store",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: csv))
            )
        }
    }
}

extension ImportStore {
    /// The tenant's units and residents as an import file (header and one row per resident; a unit
    /// without residents gets a row with empty resident columns). Importing it changes nothing.
    /// Residents without an e-mail address (made through the API) cannot be keyed in a file and are
    /// left out; their units are kept.
    package func exportCSV(tenant: TenantID, logger: Logger) async throws -> [UInt8] {
        var out = Array((ImportPlan.columns.joined(separator: ",") + "\r\n").utf8)
        for try await (site, building, unit, floor, name, email, phone, role) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT s.name, b.name, u.dial_number, u.floor, p.display_name, p.email, p.phone, r.role
                    FROM \(self.schema).units u
                    JOIN \(self.schema).sites s ON s.tenant_id = u.tenant_id AND s.id = u.site_id
                    JOIN \(self.schema).buildings b ON b.tenant_id = u.tenant_id AND b.id = u.building_id
                    LEFT JOIN (\(self.schema).unit_residents r
                        JOIN \(self.schema).people p ON p.tenant_id = r.tenant_id AND p.id = r.person_id
                            AND p.erased_at IS NULL AND p.email IS NOT NULL)
                        ON r.tenant_id = u.tenant_id AND r.unit_id = u.id
                    WHERE u.tenant_id = $1
                    ORDER BY s.name, b.name, u.dial_number, p.email
                    """,
                binds: PostgresBindings(tenant.rawValue)
            ),
            logger: logger
        ).decode((String, String, String, String?, String?, String?, String?, String?).self) {
            let fields = [site, building, unit, floor ?? "", name ?? "", email ?? "", phone ?? "", role ?? ""]
            out.append(contentsOf: fields.map(CSVWriter.field).joined(separator: ",").utf8)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        return out
    }
}

/// RFC 4180 output.
package enum CSVWriter {
    /// The field, quoted when it holds a comma, a quote, a line break or surrounding spaces.
    package static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || text.first == " " || text.last == " "
        else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
