import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import PostgresNIO
package import ServiceKit

/// `/v1/tenants`: the operator lists, creates and deletes customers (`tenants:manage`); a tenant's
/// own administrator reads it (`identity:read`) and changes its name and default time zone
/// (`identity:write`). docs/operations.md, "Identity API".
package struct TenantsAPI: Sendable {
    package static let maxBodyBytes = 16 * 1024
    package static let maxPageSize = 500

    let store: TenantStore
    let idempotency: IdempotencyStore
    let keys: AuthKeys

    package init(client: PostgresClient, schema: String = IdentityService.schema, keys: AuthKeys) {
        self.store = TenantStore(client: client, schema: schema)
        self.idempotency = IdempotencyStore(client: client, schema: schema)
        self.keys = keys
    }

    /// `^[a-z0-9][a-z0-9-]{1,62}$`: people log in with it.
    static func isSlug(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func allowed(_ byte: UInt8) -> Bool { (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) }
        return (2...63).contains(bytes.count) && allowed(bytes[0]) && bytes.dropFirst().allSatisfy { allowed($0) || $0 == 0x2d }
    }

    static func response(_ tenant: TenantResource, status: HTTPResponse.Status = .ok) throws -> Response {
        var headers: HTTPFields = [.eTag: "\"v\(tenant.version)\""]
        if status == .created { headers[.location] = "/v1/tenants/\(tenant.id)" }
        return try Response.json(tenant, status: status, headers: headers)
    }

    /// The operator's routes name no tenant: the caller needs `tenants:manage` (403 otherwise).
    func operatorOnly(_ request: Request, _ context: BasicRequestContext) throws {
        let principal = try self.keys.authenticate(request, logger: context.logger)
        guard principal.has(.tenantsManage) else {
            throw Problem.forbidden("the \(principal.role.rawValue) role may not \(Scope.tenantsManage.rawValue)")
        }
    }

    func tenant(_ id: TenantID, _ context: BasicRequestContext) async throws -> TenantResource {
        guard let tenant = try await self.store.get(id, logger: context.logger) else { throw Problem.notFound("no such tenant") }
        return tenant
    }

    static func timeZone(_ fields: inout JSONFields, required: Bool) -> String? {
        let zone = fields.string("defaultTimeZone", required: required, maxLength: 64)
        if let zone, TimeZone(identifier: zone) == nil { fields.fail("defaultTimeZone", "must be an IANA time zone such as Europe/Berlin") }
        return zone
    }

    package func register(on router: Router<BasicRequestContext>) {
        let tenants = router.group("/v1/tenants")
        tenants.get { request, context in
            try self.operatorOnly(request, context)
            var errors: [Problem.FieldError] = []
            let paging = Paging(request, defaultLimit: 100, maxLimit: Self.maxPageSize, errors: &errors) {
                Self.isSlug($0) ? $0 : nil
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid query", errors: errors) }
            var page = try await self.store.list(after: paging.after, limit: paging.limit + 1, logger: context.logger)
            let next = paging.next(&page) { $0.slug }
            struct Page: Encodable {
                var tenants: [TenantResource]
                var nextCursor: String?
            }
            return try Response.json(Page(tenants: page, nextCursor: next))
        }
        tenants.post { request, context in
            try self.operatorOnly(request, context)
            let body = try await request.jsonObject(maxBytes: Self.maxBodyBytes)
            var fields = JSONFields(body.object, allowed: ["slug", "name", "defaultTimeZone"])
            let slug = fields.string("slug", required: true, maxLength: 63)
            if let slug, !Self.isSlug(slug) {
                fields.fail("slug", "must be 2 to 63 lower-case letters, digits or '-', starting with a letter or digit")
            }
            let name = fields.string("name", required: true)
            let zone = Self.timeZone(&fields, required: false) ?? "UTC"
            try fields.check("invalid tenant")
            guard let slug, let name else { throw Problem.badRequest("invalid tenant") }
            return try await IdempotentCreate<TenantResource>(store: self.idempotency, operation: "tenants.create").run(
                request,
                body: body.bytes,
                scope: .operator,
                logger: context.logger,
                respond: { tenant, status in try Self.response(tenant, status: status) },
                create: {
                    do {
                        return try await self.store.create(slug: slug, name: name, defaultTimeZone: zone, logger: context.logger)
                    } catch TenantStoreError.slugTaken {
                        throw Problem(
                            slug: "conflict",
                            title: "Conflict",
                            status: .conflict,
                            detail: "slug is already used (deleted tenants keep theirs)",
                            errors: [.init(field: "slug", message: "is already used")]
                        )
                    }
                }
            )
        }
        tenants.get(":tenant") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            return try Self.response(try await self.tenant(tenant, context))
        }
        tenants.patch(":tenant") { request, context in
            let (id, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let tenant = try await self.tenant(id, context)
            let version = try Preconditions.expectedVersion(request, of: "tenant", current: tenant.version)
            let object = try await request.jsonObject(
                maxBytes: Self.maxBodyBytes,
                contentTypes: ["application/json", "application/merge-patch+json"]
            ).object
            // The slug is fixed: people log in with it and tokens name the tenant's id.
            var fields = JSONFields(object, allowed: ["name", "defaultTimeZone"])
            let name = fields.string("name")
            let zone = Self.timeZone(&fields, required: false)
            try fields.check("invalid tenant")
            do {
                guard
                    let updated = try await self.store.update(
                        id,
                        expectedVersion: version,
                        name: name,
                        defaultTimeZone: zone,
                        logger: context.logger
                    )
                else { throw Problem.notFound("no such tenant") }
                return try Self.response(updated)
            } catch TopologyStoreError.versionMismatch(let current) {
                throw Preconditions.stale("tenant", current: current)
            }
        }
        tenants.delete(":tenant") { request, context in
            let (id, _) = try self.keys.authorize(request, context: context, scope: .tenantsManage)
            try await TopologyAPI.refusingInUse {
                guard try await self.store.delete(id, logger: context.logger) else { throw Problem.notFound("no such tenant") }
            }
            return Response(status: .noContent)
        }
    }
}
