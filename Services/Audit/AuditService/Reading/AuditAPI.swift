import Foundation
import GatehouseAuth
import GatehouseWire
package import Hummingbird
import Logging
import NIOCore
package import PostgresNIO
package import ServiceKit

/// The support-staff API on the audit service's admin port (docs/operations.md, "Audit API").
///
/// Every route needs a bearer token. A tenant the caller may not see answers 404, as if it did not
/// exist; a role without the route's scope answers 403. Property managers see the records of their
/// sites, staff those of their buildings; integrators, residents and guests see nothing here.
package struct AuditAPI: Sendable {
    /// Longest accepted `type` filter.
    static let maxTypeLength = 200
    /// Export output is written in chunks of about this size.
    static let exportChunkBytes = 64 * 1024

    let reader: AuditReader
    let verifier: ChainVerifier
    let keys: AuthKeys

    package init(
        client: PostgresClient,
        source: PostgresCopySource,
        schema: String = AuditService.schema,
        keyring: PersonKeyring,
        keys: AuthKeys
    ) {
        self.reader = AuditReader(client: client, schema: schema, keyring: keyring)
        self.verifier = ChainVerifier(client: client, source: source, schema: schema)
        self.keys = keys
    }

    package func register(on router: Router<BasicRequestContext>) {
        let tenant = router.group("/v1/tenants/:tenant/audit")
        tenant.get("records") { request, context in
            let filter = try self.authorize(request, context, .auditRead)
            let query = request.uri.queryParameters
            var limit = 50
            if let text = query["limit"] {
                guard let value = Int(text), (1...AuditReader.maxPageSize).contains(value) else {
                    throw Problem.badRequest(
                        "invalid query",
                        errors: [.init(field: "limit", message: "must be an integer from 1 to \(AuditReader.maxPageSize)")]
                    )
                }
                limit = value
            }
            let page: AuditPage
            do {
                page = try await self.reader.records(filter, cursor: query["cursor"].map(String.init), limit: limit, logger: context.logger)
            } catch AuditReadError.invalidCursor {
                throw Problem.badRequest("invalid query", errors: [.init(field: "cursor", message: "is not a cursor this API returned")])
            }
            var body = ByteBuffer(string: #"{"records":["#)
            for (index, entry) in page.records.enumerated() {
                if index > 0 { body.writeString(",") }
                body.writeBytes(entry.json(tenant: filter.tenant))
            }
            body.writeString("]")
            if let next = page.nextCursor { body.writeString(#","nextCursor":"\#(next)""#) }
            body.writeString("}")
            return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
        }
        tenant.get("records/:sequence") { request, context in
            let filter = try self.authorize(request, context, .auditRead)
            guard let sequence = context.parameters.get("sequence").flatMap({ Int64($0) }), sequence >= 1,
                let entry = try await self.reader.record(filter, sequence: sequence, logger: context.logger)
            else { throw Problem.notFound("no such record") }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: entry.json(tenant: filter.tenant)))
            )
        }
        tenant.get("export") { request, context in
            let filter = try self.authorize(request, context, .auditExport)
            let format = request.uri.queryParameters["format"].map(String.init) ?? "jsonl"
            guard format == "jsonl" || format == "csv" else {
                throw Problem.badRequest("invalid query", errors: [.init(field: "format", message: "must be jsonl or csv")])
            }
            let reader = self.reader
            let logger = context.logger
            return Response(
                status: .ok,
                headers: [
                    .contentType: format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
                    .contentDisposition: #"attachment; filename="audit-\#(filter.tenant).\#(format)""#,
                ],
                body: ResponseBody { writer in
                    var chunk = ByteBuffer()
                    if format == "csv" { chunk.writeString(AuditEntry.csvHeader + "\r\n") }
                    var after: Int64 = 0
                    while true {
                        let page = try await reader.exportPage(filter, after: after, logger: logger)
                        for entry in page {
                            if format == "csv" {
                                chunk.writeString(entry.csv(tenant: filter.tenant) + "\r\n")
                            } else {
                                chunk.writeBytes(entry.json(tenant: filter.tenant))
                                chunk.writeString("\n")
                            }
                        }
                        if chunk.readableBytes >= Self.exportChunkBytes || page.count < AuditReader.exportPageSize {
                            try await writer.write(chunk)
                            chunk.clear()
                        }
                        guard page.count == AuditReader.exportPageSize, let last = page.last else { break }
                        after = last.sequence
                    }
                    try await writer.finish(nil)
                }
            )
        }
        tenant.get("verify") { request, context in
            let filter = try self.authorize(request, context, .auditVerify)
            var from: Int64 = 1
            if let text = request.uri.queryParameters["from"] {
                guard let value = Int64(text), value >= 1 else {
                    throw Problem.badRequest("invalid query", errors: [.init(field: "from", message: "must be a sequence number ≥ 1")])
                }
                from = value
            }
            let report = try await self.verifier.verify(
                tenant: filter.tenant,
                from: from,
                logger: context.logger
            )
            return try Response.json(report)
        }
    }

    /// The caller, checked against the tenant in the path and the scope, and the filter of the
    /// query parameters narrowed to the caller's places.
    func authorize(_ request: Request, _ context: BasicRequestContext, _ scope: Scope) throws -> AuditFilter {
        let (tenant, principal) = try self.keys.authorize(request, context: context, scope: scope)
        var filter = try Self.filter(tenant: tenant, query: request.uri.queryParameters)
        switch principal.role {
        case .propertyManager: filter.allowedSites = principal.claims.sites ?? []
        case .staff: filter.allowedBuildings = principal.claims.buildings ?? []
        default: break
        }
        return filter
    }

    /// The filter of `site`, `building`, `door`, `unit`, `person`, `call`, `pass`, `type`, `outcome`,
    /// `from` and `to`; every bad parameter is reported, by name.
    static func filter(tenant: TenantID, query: Parameters) throws -> AuditFilter {
        var filter = AuditFilter(tenant: tenant)
        var errors: [Problem.FieldError] = []
        func id(_ name: Substring) -> UUID? {
            guard let text = query[name] else { return nil }
            guard let id = UUID(uuidString: String(text)) else {
                errors.append(.init(field: String(name), message: "must be a UUID"))
                return nil
            }
            return id
        }
        func time(_ name: Substring) -> Date? {
            guard let text = query[name] else { return nil }
            guard let date = WireCoding.parse(String(text)) else {
                errors.append(.init(field: String(name), message: "must be an ISO 8601 time, e.g. 2026-11-22T08:00:00Z"))
                return nil
            }
            return date
        }
        filter.site = id("site")
        filter.building = id("building")
        filter.door = id("door")
        filter.unit = id("unit")
        filter.person = id("person")
        filter.call = id("call")
        filter.pass = id("pass")
        filter.from = time("from")
        filter.to = time("to")
        if let type = query["type"] {
            if type.isEmpty || type.utf8.count > Self.maxTypeLength || type.containsControlCharacters {
                errors.append(.init(field: "type", message: "must be 1…\(Self.maxTypeLength) bytes"))
            } else {
                filter.eventType = String(type)
            }
        }
        if let outcome = query["outcome"] {
            if outcome.isEmpty || outcome.utf8.count > EventContext.maxWordLength || outcome.containsControlCharacters {
                errors.append(.init(field: "outcome", message: "must be 1…\(EventContext.maxWordLength) bytes"))
            } else {
                filter.outcome = String(outcome)
            }
        }
        if let from = filter.from, let to = filter.to, from >= to {
            errors.append(.init(field: "to", message: "must be after from"))
        }
        if !errors.isEmpty { throw Problem.badRequest("invalid query", errors: errors) }
        return filter
    }
}
