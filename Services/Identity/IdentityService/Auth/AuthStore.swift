import Crypto
package import Foundation
package import GatehouseAuth
package import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit

/// A person who may log in, as the login needs them.
package struct Account: Sendable, Hashable {
    package var tenant: TenantID
    package var person: UUID
    package var kind: Person.Kind
    package var staffRole: Role?
    package var sites: [UUID]
    package var buildings: [UUID]
    package var passwordHash: String?
    package var lockedUntil: Date?

    /// The role the person's tokens carry.
    package var role: Role {
        switch self.kind {
        case .resident: .resident
        case .guest: .guest
        case .staff: self.staffRole ?? .staff
        }
    }
}

/// Logins, lockout and refresh tokens in the identity schema.
///
/// Lockout: after ``freeFailures`` failed logins in a row, each further failure locks the account
/// for 30 s × 2^(n − 5), at most an hour; a success resets the count. Refresh tokens are random
/// (256 bits), stored as SHA-256, valid ``refreshLifetime``, and rotate: each use returns a new one
/// of the same family; using one a second time revokes the whole family (it was copied).
package struct AuthStore: Sendable {
    package static let freeFailures = 5
    package static let maxLock: Duration = .seconds(3600)
    package static let refreshLifetime: Duration = .seconds(30 * 86_400)
    static let refreshPrefix = "ghr_"

    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    static let accountColumns = """
        p.tenant_id, p.id, p.kind, p.staff_role, p.site_ids, p.building_ids, p.password_hash, p.locked_until
        """

    static func account(_ row: PostgresRow) throws -> Account {
        let (tenant, id, kind, staffRole, sites, buildings, hash, locked) = try row.decode(
            (UUID, UUID, String, String?, [UUID], [UUID], String?, Date?).self
        )
        return Account(
            tenant: TenantID(tenant),
            person: id,
            kind: Person.Kind(rawValue: kind) ?? .guest,
            staffRole: staffRole.flatMap(Role.init(rawValue:)),
            sites: sites,
            buildings: buildings,
            passwordHash: hash,
            lockedUntil: locked
        )
    }

    /// The not-erased person with this e-mail in the tenant with this slug.
    package func account(tenantSlug: String, email: String, logger: Logger) async throws -> Account? {
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.accountColumns) FROM \(self.schema).people p JOIN \(self.schema).tenants t ON t.id = p.tenant_id
                    WHERE t.slug = $1 AND p.email = $2 AND p.erased_at IS NULL AND (p.expires_at IS NULL OR p.expires_at > now())
                    """,
                binds: PostgresBindings(tenantSlug, email.lowercased())
            ),
            logger: logger
        ) {
            return try Self.account(row)
        }
        return nil
    }

    package func account(tenant: TenantID, person: UUID, logger: Logger) async throws -> Account? {
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.accountColumns) FROM \(self.schema).people p WHERE p.tenant_id = $1 AND p.id = $2 AND p.erased_at IS NULL",
                binds: PostgresBindings(tenant.rawValue, person)
            ),
            logger: logger
        ) {
            return try Self.account(row)
        }
        return nil
    }

    package func recordFailure(_ account: Account, logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).people SET failed_logins = failed_logins + 1,
                        locked_until = CASE WHEN failed_logins + 1 > $3
                            THEN now() + least(interval '30 seconds' * power(2, failed_logins + 1 - $3 - 1), interval '\(Self.maxLock.components.seconds) seconds')
                            ELSE locked_until END
                    WHERE tenant_id = $1 AND id = $2
                    """,
                binds: PostgresBindings(account.tenant.rawValue, account.person, Self.freeFailures)
            ),
            logger: logger
        )
    }

    package func recordSuccess(_ account: Account, logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: "UPDATE \(self.schema).people SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2",
                binds: PostgresBindings(account.tenant.rawValue, account.person)
            ),
            logger: logger
        )
    }

    /// Sets the password hash and ends every session of the person.
    package func setPassword(tenant: TenantID, person: UUID, hash: String, logger: Logger) async throws -> Bool {
        var updated = false
        for try await _ in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).people SET password_hash = $3, failed_logins = 0, locked_until = NULL, updated_at = now()
                    WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL RETURNING 1
                    """,
                binds: PostgresBindings(tenant.rawValue, person, hash)
            ),
            logger: logger
        ).decode(Int.self) {
            updated = true
        }
        if updated { try await self.revokeAll(tenant: tenant, person: person, logger: logger) }
        return updated
    }

    /// Ends every session of the person: refresh tokens are revoked, and access tokens issued until
    /// now stop being active for introspection (`identity.introspect`).
    package func revokeAll(tenant: TenantID, person: UUID, logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    WITH revoked AS (
                        UPDATE \(self.schema).refresh_tokens SET revoked_at = now()
                        WHERE tenant_id = $1 AND person_id = $2 AND revoked_at IS NULL
                    )
                    UPDATE \(self.schema).people SET sessions_valid_after = date_trunc('second', now()) WHERE tenant_id = $1 AND id = $2
                    """,
                binds: PostgresBindings(tenant.rawValue, person)
            ),
            logger: logger
        )
    }

    static func digest(_ token: String) -> ByteBuffer { ByteBuffer(bytes: Array(SHA256.hash(data: Array(token.utf8)))) }

    /// A new refresh token in `family` (a new family for a login).
    package func issueRefreshToken(_ account: Account, family: UUID = UUID(), logger: Logger) async throws -> String {
        var random = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in random.indices { random[index] = generator.next() }
        let token = Self.refreshPrefix + Base64URL.encode(random)
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).refresh_tokens (id, tenant_id, person_id, family_id, token_hash, expires_at)
                    VALUES ($1, $2, $3, $4, $5, now() + interval '\(Self.refreshLifetime.components.seconds) seconds')
                    """,
                binds: PostgresBindings(UUID(), account.tenant.rawValue, account.person, family, Self.digest(token))
            ),
            logger: logger
        )
        return token
    }

    /// Uses a refresh token: the account and the token's family when it is valid and unused; a
    /// token used before revokes its family and answers nil.
    package func redeem(_ token: String, logger: Logger) async throws -> (Account, family: UUID)? {
        guard token.hasPrefix(Self.refreshPrefix), token.utf8.count <= 128 else { return nil }
        let outcome: (tenant: UUID, person: UUID, family: UUID)?
        do {
            outcome = try await self.client.withTransaction(logger: logger) { connection -> (UUID, UUID, UUID)? in
                var found: (UUID, UUID, UUID, Date?, Date?, Date)?
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT tenant_id, person_id, family_id, used_at, revoked_at, expires_at FROM \(self.schema).refresh_tokens
                            WHERE token_hash = $1 FOR UPDATE
                            """,
                        binds: PostgresBindings(Self.digest(token))
                    ),
                    logger: logger
                ).decode((UUID, UUID, UUID, Date?, Date?, Date).self) {
                    found = row
                }
                guard let (tenant, person, family, used, revoked, expires) = found, revoked == nil, expires > Date() else { return nil }
                if used != nil {
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "UPDATE \(self.schema).refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
                            binds: PostgresBindings(family)
                        ),
                        logger: logger
                    )
                    logger.warning("refresh token reused: its family is revoked", metadata: ["gatehouse.person": "\(person)"])
                    return nil
                }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "UPDATE \(self.schema).refresh_tokens SET used_at = now() WHERE token_hash = $1",
                        binds: PostgresBindings(Self.digest(token))
                    ),
                    logger: logger
                )
                return (tenant, person, family)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
        guard let outcome, let account = try await self.account(tenant: TenantID(outcome.tenant), person: outcome.person, logger: logger) else {
            return nil
        }
        return (account, outcome.family)
    }

    /// Ends the session the token belongs to.
    package func revokeFamily(of token: String, logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).refresh_tokens SET revoked_at = now()
                    WHERE family_id = (SELECT family_id FROM \(self.schema).refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL
                    """,
                binds: PostgresBindings(Self.digest(token))
            ),
            logger: logger
        )
    }
}
