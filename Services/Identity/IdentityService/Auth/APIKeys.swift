import Crypto
package import Foundation
package import GatehouseAuth
package import GatehouseWire
import HTTPTypes
package import Hummingbird
package import Logging
package import PostgresNIO
package import ServiceKit

/// An integrator's API key as stored: never its secret.
package struct APIKey: Sendable, Hashable {
    package var id: UUID
    package var tenant: TenantID
    package var name: String
    package var domains: [String]
    package var createdAt: Date
    package var lastUsedAt: Date?
    package var revokedAt: Date?
}

/// Integrators' API keys (docs/security.md, "API keys"): 256 random bits, shown once as
/// `ghk_<base64url>`, kept as their SHA-256 (the secret is random and long, so a fast hash is the
/// right one: nothing to brute-force).
package struct APIKeyStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    package static let prefix = "ghk_"

    package static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Self.prefix + Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func digest(_ secret: String) -> ByteBuffer { ByteBuffer(bytes: Array(SHA256.hash(data: Array(secret.utf8)))) }

    static let columns = "id, tenant_id, name, domains, created_at, last_used_at, revoked_at"

    /// The key in the first seven columns (``columns``) of `row`.
    static func key(_ row: PostgresRow) throws -> APIKey {
        let cells = row.makeRandomAccess()
        return APIKey(
            id: try cells[0].decode(UUID.self),
            tenant: TenantID(try cells[1].decode(UUID.self)),
            name: try cells[2].decode(String.self),
            domains: try cells[3].decode([String].self),
            createdAt: try cells[4].decode(Date.self),
            lastUsedAt: try cells[5].decode(Date?.self),
            revokedAt: try cells[6].decode(Date?.self)
        )
    }

    func announce<Change: IdentityChangeKind>(_ change: Change.Type, _ key: APIKey, on connection: PostgresConnection, logger: Logger) async throws {
        try await self.outbox.enqueue(
            IdentityChanged<APIKeyDocument, Change>(APIKeyDocument(id: key.id, name: key.name, domains: key.domains)),
            tenant: key.tenant,
            subject: "api_key/\(key.id.lowercasedString)",
            on: connection,
            logger: logger
        )
    }

    /// A new key named `name` (unique per tenant among keys, revoked ones included), with its secret.
    /// Giving `secret` sets that one instead (the demo seed keeps its key in a file); a key of that
    /// name then gets the secret and the domains again, un-revoked.
    package func create(tenant: TenantID, name: String, domains: [String], secret: String? = nil, logger: Logger) async throws -> (
        APIKey, secret: String
    ) {
        let upsert = secret != nil
        let secret = secret ?? Self.generateSecret()
        let key: APIKey = try await self.client.transaction(logger: logger) { connection in
            var key: APIKey?
            var inserted = false
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(self.schema).api_keys (id, tenant_id, name, secret_hash, domains) VALUES ($1, $2, $3, $4, $5)
                        ON CONFLICT (tenant_id, name) DO \(upsert ? "UPDATE SET secret_hash = EXCLUDED.secret_hash, domains = EXCLUDED.domains, revoked_at = NULL" : "NOTHING")
                        RETURNING \(Self.columns), xmax = 0
                        """,
                    binds: PostgresBindings(UUID(), tenant.rawValue, name, Self.digest(secret), domains)
                ),
                logger: logger
            ) {
                key = try Self.key(row)
                inserted = try row.makeRandomAccess()[7].decode(Bool.self)
            }
            guard let key else { throw APIKeyError.nameTaken }
            if inserted { try await self.announce(Created.self, key, on: connection, logger: logger) }
            return key
        }
        return (key, secret)
    }

    package func list(tenant: TenantID, logger: Logger) async throws -> [APIKey] {
        var keys: [APIKey] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM \(self.schema).api_keys WHERE tenant_id = $1 ORDER BY name LIMIT 1000",
                binds: PostgresBindings(tenant.rawValue)
            ),
            logger: logger
        ) {
            keys.append(try Self.key(row))
        }
        return keys
    }

    /// Revokes the key at once (idempotent); `false` when the tenant has no such key.
    package func revoke(tenant: TenantID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.client.transaction(logger: logger) { connection in
            var found = false
            var revoked: APIKey?
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH old AS (SELECT revoked_at FROM \(self.schema).api_keys WHERE tenant_id = $1 AND id = $2)
                        UPDATE \(self.schema).api_keys SET revoked_at = COALESCE(revoked_at, now())
                        WHERE tenant_id = $1 AND id = $2
                        RETURNING \(Self.columns), (SELECT revoked_at IS NULL FROM old)
                        """,
                    binds: PostgresBindings(tenant.rawValue, id)
                ),
                logger: logger
            ) {
                found = true
                let key = try Self.key(row)
                if try row.makeRandomAccess()[7].decode(Bool.self) { revoked = key }
            }
            if let revoked { try await self.announce(Revoked.self, revoked, on: connection, logger: logger) }
            return found
        }
    }

    /// The live key with this secret, marking it used; `nil` for anything else.
    package func authenticate(_ secret: String, logger: Logger) async throws -> APIKey? {
        guard secret.hasPrefix(Self.prefix), secret.utf8.count <= 100 else { return nil }
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).api_keys SET last_used_at = now()
                    WHERE secret_hash = $1 AND revoked_at IS NULL RETURNING \(Self.columns)
                    """,
                binds: PostgresBindings(Self.digest(secret))
            ),
            logger: logger
        ) {
            return try Self.key(row)
        }
        return nil
    }
}

package enum APIKeyError: Error, Hashable {
    case nameTaken
}

/// `/v1/tenants/{tenant}/api-keys` (create, list, revoke; `identity:write`) and `POST /v1/auth/token`
/// (an API key for a short-lived integrator access token).
package struct APIKeysAPI: Sendable {
    let store: APIKeyStore
    let idempotency: IdempotencyStore
    let signer: TokenSigner
    let keys: AuthKeys

    package init(client: PostgresClient, schema: String = IdentityService.schema, signer: TokenSigner, keys: AuthKeys) {
        self.store = APIKeyStore(client: client, schema: schema)
        self.idempotency = IdempotencyStore(client: client, schema: schema)
        self.signer = signer
        self.keys = keys
    }

    struct Resource: Codable, Sendable {
        var id: String
        var name: String
        var domains: [String]
        var createdAt: Date
        var lastUsedAt: Date?
        var revokedAt: Date?
        /// Only in the answer that made the key.
        var key: String?

        init(_ key: APIKey, secret: String? = nil) {
            self.id = key.id.lowercasedString
            self.name = key.name
            self.domains = key.domains
            self.createdAt = key.createdAt
            self.lastUsedAt = key.lastUsedAt
            self.revokedAt = key.revokedAt
            self.key = secret
        }
    }

    package func register(on router: Router<BasicRequestContext>) {
        let keys = router.group("/v1/tenants/:tenant/api-keys")
        keys.get { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            struct Page: Encodable { var apiKeys: [Resource] }
            return try Response.json(Page(apiKeys: try await self.store.list(tenant: tenant, logger: context.logger).map { Resource($0) }))
        }
        keys.post { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let body = try await request.jsonObject(maxBytes: 4096)
            var fields = JSONFields(body.object, allowed: ["name", "domains"])
            let name = fields.string("name", required: true)
            var domains: [String] = []
            if let list = fields.object["domains"] as? [Any], !list.isEmpty, list.count <= APIKeyDocument.knownDomains.count,
                list.allSatisfy({ ($0 as? String).map(APIKeyDocument.knownDomains.contains) == true })
            {
                domains = Array(Set(list.compactMap { $0 as? String })).sorted()
            } else {
                fields.fail("domains", "is required: a non-empty list of \(APIKeyDocument.knownDomains.joined(separator: ", "))")
            }
            try fields.check("invalid API key")
            guard let name else { throw Problem.badRequest("invalid API key") }
            // The key is shown once and never kept (decision 0019).
            return try await IdempotentCreate<Resource>(store: self.idempotency, operation: "api-keys.create").runShowingSecretOnce(
                request,
                body: body.bytes,
                scope: tenant,
                logger: context.logger,
                respond: { key, status in try Response.json(key, status: status, headers: [.cacheControl: "no-store"]) },
                withoutSecret: { key in
                    var kept = key
                    kept.key = nil
                    return kept
                },
                made: { key in "API key \(key.id); its secret was shown once and is not kept: revoke it and create another" },
                create: {
                    do {
                        let (key, secret) = try await self.store.create(tenant: tenant, name: name, domains: domains, logger: context.logger)
                        return Resource(key, secret: secret)
                    } catch APIKeyError.nameTaken {
                        throw TopologyAPI.taken("name")
                    }
                }
            )
        }
        keys.delete(":key") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            guard let id = context.parameters.get("key").flatMap(UUID.init(uuidString:)),
                try await self.store.revoke(tenant: tenant, id: id, logger: context.logger)
            else { throw Problem.notFound("no such API key") }
            return Response(status: .noContent)
        }
        router.post("/v1/auth/token") { request, context in
            let body = try await AuthAPI.fields(request, ["apiKey"])
            guard let key = try await self.store.authenticate(body["apiKey"]!, logger: context.logger) else {
                throw Problem(slug: "invalid-credentials", title: "Invalid credentials", status: .unauthorized, detail: "unknown or revoked API key")
            }
            let token = try self.signer.sign(
                AccessClaims(
                    subject: "apikey:\(key.id.lowercasedString)",
                    tenant: key.tenant,
                    role: .integrator,
                    domains: key.domains,
                    lifetime: AuthAPI.accessLifetime
                )
            )
            struct Answer: Encodable {
                var accessToken: String
                var tokenType = "Bearer"
                var expiresIn: Int
                var role = "integrator"
                var tenantId: String
                var domains: [String]
            }
            return try Response.json(
                Answer(
                    accessToken: token,
                    expiresIn: Int(AuthAPI.accessLifetime.components.seconds),
                    tenantId: key.tenant.description,
                    domains: key.domains
                ),
                headers: [.cacheControl: "no-store"]
            )
        }
    }
}
