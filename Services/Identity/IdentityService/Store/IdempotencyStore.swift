import Crypto
import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit

/// `Idempotency-Key` on creates: the first request with a key is performed and its response kept
/// (24 hours); a retry with the same key and the same body gets that response again; the same key
/// with another body is refused.
package struct IdempotencyStore: Sendable {
    /// Keys are kept this long.
    package static let retention: Duration = .seconds(24 * 3600)

    package enum Outcome: Sendable, Hashable {
        /// New: perform the request, then ``complete(tenant:key:status:body:logger:)``.
        case proceed
        /// Done before: answer this.
        case replay(status: Int, body: [UInt8])
        /// The key was used with another request.
        case conflict
        /// The first request with this key is still being performed.
        case inProgress
    }

    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    package static func hash(operation: String, body: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(operation.utf8))
        hasher.update(data: [0])
        hasher.update(data: body)
        return Array(hasher.finalize())
    }

    /// Reserves `key` for this request, or says what happened to it before.
    package func begin(tenant: TenantID, key: String, operation: String, requestHash: [UInt8], logger: Logger) async throws -> Outcome {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: "DELETE FROM \(self.schema).idempotency_keys WHERE created_at < now() - interval '24 hours'"
            ),
            logger: logger
        )
        var reserved = false
        for try await _ in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).idempotency_keys (tenant_id, key, operation, request_hash, status, body)
                    VALUES ($1, $2, $3, $4, 0, ''::bytea) ON CONFLICT DO NOTHING RETURNING 1
                    """,
                binds: PostgresBindings(tenant.rawValue, key, operation, ByteBuffer(bytes: requestHash))
            ),
            logger: logger
        ).decode(Int.self) {
            reserved = true
        }
        if reserved { return .proceed }
        for try await (operationStored, hash, status, body) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT operation, request_hash, status, body FROM \(self.schema).idempotency_keys WHERE tenant_id = $1 AND key = $2",
                binds: PostgresBindings(tenant.rawValue, key)
            ),
            logger: logger
        ).decode((String, ByteBuffer, Int, ByteBuffer).self) {
            guard operationStored == operation, Array(buffer: hash) == requestHash else { return .conflict }
            return status == 0 ? .inProgress : .replay(status: status, body: Array(buffer: body))
        }
        return .proceed  // expired between the two statements
    }

    package func complete(tenant: TenantID, key: String, status: Int, body: [UInt8], logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: "UPDATE \(self.schema).idempotency_keys SET status = $3, body = $4 WHERE tenant_id = $1 AND key = $2",
                binds: PostgresBindings(tenant.rawValue, key, status, ByteBuffer(bytes: body))
            ),
            logger: logger
        )
    }

    /// Frees a reservation whose request failed, so a retry can perform it.
    package func abandon(tenant: TenantID, key: String, logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: "DELETE FROM \(self.schema).idempotency_keys WHERE tenant_id = $1 AND key = $2 AND status = 0",
                binds: PostgresBindings(tenant.rawValue, key)
            ),
            logger: logger
        )
    }
}
