import Crypto
package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit
import Synchronization

/// A visitor pass: who invited whom to which doors, when, how often.
package struct Pass: Sendable, Hashable {
    package var id: UUID
    package var siteId: UUID
    package var hostPersonId: UUID
    package var kind: String
    package var label: String?
    package var doorIds: [UUID]
    package var validFrom: Date
    package var validUntil: Date
    package var maxUses: Int?
    package var uses: Int
    package var schedule: WeeklySchedule?
    package var nonce: [UInt8]
    package var revokedAt: Date?
    package var createdAt: Date

    package var summary: PassSummary {
        PassSummary(
            passId: self.id,
            siteId: self.siteId,
            hostPersonId: self.hostPersonId,
            kind: self.kind,
            doorIds: self.doorIds,
            validFrom: self.validFrom,
            validUntil: self.validUntil,
            maxUses: self.maxUses
        )
    }

    package static let kinds = ["guest", "contractor", "courier"]
    /// Limits (docs/operations.md): 1–16 doors, up to 366 days, 1–1,000 uses, label ≤ 100 characters.
    package static let maxDoors = PassToken.maxDoors
    package static let maxValidity: TimeInterval = 366 * 86_400
    package static let maxUses = 1...1_000
}

/// What to create: the API checks the host's authority before.
package struct PassInput: Sendable {
    package var siteId: UUID
    package var hostPersonId: UUID
    package var kind: String
    package var label: String?
    package var doorIds: [UUID]
    package var validFrom: Date
    package var validUntil: Date
    package var maxUses: Int?
    package var schedule: WeeklySchedule?

    package init(
        siteId: UUID,
        hostPersonId: UUID,
        kind: String,
        label: String?,
        doorIds: [UUID],
        validFrom: Date,
        validUntil: Date,
        maxUses: Int?,
        schedule: WeeklySchedule?
    ) {
        self.siteId = siteId
        self.hostPersonId = hostPersonId
        self.kind = kind
        self.label = label
        self.doorIds = doorIds
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.maxUses = maxUses
        self.schedule = schedule
    }
}

/// Why a presented credential opens nothing (or `nil`: it may open).
package enum PassCheck: Sendable, Equatable {
    case granted(Pass)
    case denied(AccessReason, Pass?)
}

/// `access.passes` and the per-tenant PIN keys. PINs are kept only as keyed digests
/// (`HMAC-SHA256(tenant key, site ‖ PIN)`); the tenant keys are sealed under `access.secretKey`.
package struct PassStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter
    let sealing: SymmetricKey
    let keys: PassKeys
    let tenantKeys = TenantKeyCache()

    package init(client: PostgresClient, schema: String = AccessService.schema, outbox: OutboxWriter, secretKey: [UInt8]) {
        self.client = client
        self.schema = schema
        self.outbox = outbox
        self.sealing = SymmetricKey(data: secretKey)
        self.keys = PassKeys(secretKey: secretKey)
    }

    final class TenantKeyCache: Sendable {
        let keys = Mutex<[TenantID: [UInt8]]>([:])
    }

    /// The tenant's PIN key, made on first use.
    func pinKey(_ tenant: TenantID, logger: Logger) async throws -> [UInt8] {
        if let key = self.tenantKeys.keys.withLock({ $0[tenant] }) { return key }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let binding = Array("pin-key/\(tenant.rawValue.lowercasedString)".utf8)
        let sealed = try AES.GCM.seal(fresh, using: self.sealing, authenticating: binding).combined.map { Array($0) } ?? []
        var stored: [UInt8]?
        for try await row in try await self.client.query(
            """
            WITH inserted AS (
                INSERT INTO \(unescaped: self.schema).tenant_keys (tenant_id, pin_key_sealed) VALUES (\(tenant.rawValue), \(ByteBuffer(bytes: sealed)))
                ON CONFLICT (tenant_id) DO NOTHING RETURNING pin_key_sealed
            )
            SELECT pin_key_sealed FROM inserted
            UNION ALL SELECT pin_key_sealed FROM \(unescaped: self.schema).tenant_keys WHERE tenant_id = \(tenant.rawValue)
            LIMIT 1
            """,
            logger: logger
        ).decode(ByteBuffer.self) {
            stored = Array(buffer: row)
        }
        guard let stored else { throw GatehouseError.decodingFailed("no PIN key for the tenant") }
        let key = Array(try AES.GCM.open(try AES.GCM.SealedBox(combined: stored), using: self.sealing, authenticating: binding))
        self.tenantKeys.keys.withLock { $0[tenant] = key }
        return key
    }

    static let columns = """
        id, site_id, host_person_id, kind, label, door_ids, valid_from, valid_until, max_uses, uses, schedule, nonce, revoked_at, created_at
        """

    static func pass(_ row: PostgresRow) throws -> Pass {
        let (id, site, host, kind, label, doors, from, until, maxUses, uses, schedule, nonce, revoked, created) = try row.decode(
            (UUID, UUID, UUID, String, String?, [UUID], Date, Date, Int?, Int, String?, ByteBuffer, Date?, Date).self
        )
        return Pass(
            id: id,
            siteId: site,
            hostPersonId: host,
            kind: kind,
            label: label,
            doorIds: doors,
            validFrom: from,
            validUntil: until,
            maxUses: maxUses,
            uses: uses,
            schedule: try schedule.map { try JSONDecoder().decode(WeeklySchedule.self, from: Data($0.utf8)) },
            nonce: Array(buffer: nonce),
            revokedAt: revoked,
            createdAt: created
        )
    }

    /// Creates the pass with a fresh PIN of `pinDigits` digits that no other pass valid at one of
    /// the same doors in an overlapping window has; returns it with its PIN and QR token (shown once).
    package func create(tenant: TenantID, _ input: PassInput, pinDigits: Int, logger: Logger) async throws -> (Pass, pin: String, qr: String) {
        let key = try await self.pinKey(tenant, logger: logger)
        let id = UUID()
        let nonce = (0..<8).map { _ in UInt8.random(in: 0...255) }
        let schedule = try input.schedule.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return try await self.client.transaction(logger: logger) { connection in
            // One creation per site at a time, so two new passes cannot draw the same PIN.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(input.siteId.lowercasedString), 7))",
                logger: logger
            )
            var chosen: (String, [UInt8])?
            for _ in 0..<50 {
                let pin = String((0..<pinDigits).map { _ in Character(String(Int.random(in: 0...9))) })
                let digest = PassKeys.pinDigest(pin, site: input.siteId, key: key)
                let rows = try await connection.query(
                    """
                    SELECT 1 FROM \(unescaped: self.schema).passes
                    WHERE tenant_id = \(tenant.rawValue) AND site_id = \(input.siteId) AND pin_digest = \(ByteBuffer(bytes: digest))
                      AND revoked_at IS NULL AND door_ids && \(input.doorIds)
                      AND valid_from < \(input.validUntil) AND valid_until > \(input.validFrom)
                    LIMIT 1
                    """,
                    logger: logger
                ).collect()
                if rows.isEmpty {
                    chosen = (pin, digest)
                    break
                }
            }
            guard let (pin, digest) = chosen else { throw PassStoreError.noFreePIN }
            var pass: Pass?
            for try await row in try await connection.query(
                """
                INSERT INTO \(unescaped: self.schema).passes
                    (id, tenant_id, site_id, host_person_id, kind, label, door_ids, valid_from, valid_until, max_uses, schedule, pin_digest, nonce)
                VALUES (\(id), \(tenant.rawValue), \(input.siteId), \(input.hostPersonId), \(input.kind), \(input.label), \(input.doorIds),
                        \(input.validFrom), \(input.validUntil), \(input.maxUses), \(schedule), \(ByteBuffer(bytes: digest)), \(ByteBuffer(bytes: nonce)))
                RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            ) {
                pass = try Self.pass(row)
            }
            guard let pass else { throw GatehouseError.decodingFailed("the insert returned no row") }
            try await self.outbox.enqueue(
                PassCreated(pass.summary),
                tenant: tenant,
                subject: "pass/\(id.lowercasedString)",
                context: EventContext(site: pass.siteId, person: pass.hostPersonId, pass: id),
                on: connection,
                logger: logger
            )
            return (pass, pin, try self.token(tenant: tenant, pass))
        }
    }

    /// The pass's QR token: the same bytes each time (its nonce is stored).
    package func token(tenant: TenantID, _ pass: Pass) throws -> String {
        try PassToken(
            tenant: tenant,
            pass: pass.id,
            validFrom: pass.validFrom,
            validUntil: pass.validUntil,
            nonce: pass.nonce,
            doors: pass.doorIds
        ).signed(with: self.keys.signing)
    }

    package func get(tenant: TenantID, id: UUID, logger: Logger) async throws -> Pass? {
        for try await row in try await self.client.query(
            "SELECT \(unescaped: Self.columns) FROM \(unescaped: self.schema).passes WHERE tenant_id = \(tenant.rawValue) AND id = \(id)",
            logger: logger
        ) {
            return try Self.pass(row)
        }
        return nil
    }

    /// Revokes at once; `false` when there is no such pass (or it was revoked already).
    package func revoke(tenant: TenantID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.client.transaction(logger: logger) { connection in
            var site: UUID?
            var host: UUID?
            for try await (siteId, hostId) in try await connection.query(
                """
                UPDATE \(unescaped: self.schema).passes SET revoked_at = now()
                WHERE tenant_id = \(tenant.rawValue) AND id = \(id) AND revoked_at IS NULL RETURNING site_id, host_person_id
                """,
                logger: logger
            ).decode((UUID, UUID).self) {
                site = siteId
                host = hostId
            }
            guard let site else { return false }
            try await self.outbox.enqueue(
                PassRevoked(passId: id),
                tenant: tenant,
                subject: "pass/\(id.lowercasedString)",
                context: EventContext(site: site, person: host, pass: id),
                on: connection,
                logger: logger
            )
            return true
        }
    }

    /// The pass a PIN typed at `door` (of `site`) belongs to, among passes for that door.
    package func byPIN(tenant: TenantID, site: UUID, door: UUID, pin: String, logger: Logger) async throws -> Pass? {
        let digest = PassKeys.pinDigest(pin, site: site, key: try await self.pinKey(tenant, logger: logger))
        // Valid passes first: an expired or revoked pass with the same PIN must not hide a valid one.
        for try await row in try await self.client.query(
            """
            SELECT \(unescaped: Self.columns) FROM \(unescaped: self.schema).passes
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND pin_digest = \(ByteBuffer(bytes: digest)) AND \(door) = ANY(door_ids)
            ORDER BY (revoked_at IS NULL AND now() < valid_until) DESC, valid_from DESC LIMIT 1
            """,
            logger: logger
        ) {
            return try Self.pass(row)
        }
        return nil
    }

    /// Checks `pass` at `door` at `now` (revocation, window, schedule in `timeZone`, uses) and
    /// counts the use exactly once: concurrent presentations of a one-time pass grant once.
    package func use(
        tenant: TenantID,
        _ pass: Pass,
        door: UUID,
        at now: Date,
        timeZone: TimeZone,
        holidays: HolidayCalendar = HolidayCalendar(),
        logger: Logger
    ) async throws -> PassCheck {
        guard pass.doorIds.contains(door) else { return .denied(.invalidCredential, pass) }
        guard pass.revokedAt == nil else { return .denied(.revoked, pass) }
        guard now >= pass.validFrom, now < pass.validUntil else { return .denied(.invalidTime, pass) }
        if let schedule = pass.schedule, !schedule.contains(now, timeZone: timeZone, holidays: holidays) { return .denied(.invalidTime, pass) }
        for try await row in try await self.client.query(
            """
            UPDATE \(unescaped: self.schema).passes SET uses = uses + 1
            WHERE tenant_id = \(tenant.rawValue) AND id = \(pass.id) AND revoked_at IS NULL
              AND (max_uses IS NULL OR uses < max_uses) AND valid_from <= \(now) AND valid_until > \(now)
            RETURNING \(unescaped: Self.columns)
            """,
            logger: logger
        ) {
            return .granted(try Self.pass(row))
        }
        // Lost the race or ran out: read why.
        guard let current = try await self.get(tenant: tenant, id: pass.id, logger: logger) else { return .denied(.invalidCredential, nil) }
        if current.revokedAt != nil { return .denied(.revoked, current) }
        return .denied(.usesExhausted, current)
    }

    /// Which pass a presentation names: a QR token's pass and nonce, or a PIN's digest at a site.
    package enum Presented: Sendable {
        case token(pass: UUID, nonce: [UInt8])
        case pin(site: UUID, digest: [UInt8])
    }

    /// The common case in one statement: counts a use of the live pass `presented` names at `door`
    /// at `now` when it has no weekly schedule and uses left. `nil` when that does not hold; the
    /// caller then looks the pass up to learn why (or to check its schedule).
    package func useDirectly(tenant: TenantID, _ presented: Presented, door: UUID, at now: Date, logger: Logger) async throws -> Pass? {
        // The same conditions as ``use(tenant:_:door:at:timeZone:holidays:logger:)``, less the schedule.
        let query: PostgresQuery
        switch presented {
        case .token(let pass, let nonce):
            query = """
                UPDATE \(unescaped: self.schema).passes SET uses = uses + 1
                WHERE tenant_id = \(tenant.rawValue) AND id = \(pass) AND nonce = \(ByteBuffer(bytes: nonce)) AND \(door) = ANY(door_ids)
                  AND revoked_at IS NULL AND schedule IS NULL AND (max_uses IS NULL OR uses < max_uses)
                  AND valid_from <= \(now) AND valid_until > \(now)
                RETURNING \(unescaped: Self.columns)
                """
        case .pin(let site, let digest):
            query = """
                UPDATE \(unescaped: self.schema).passes SET uses = uses + 1
                WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND pin_digest = \(ByteBuffer(bytes: digest)) AND \(door) = ANY(door_ids)
                  AND revoked_at IS NULL AND schedule IS NULL AND (max_uses IS NULL OR uses < max_uses)
                  AND valid_from <= \(now) AND valid_until > \(now)
                RETURNING \(unescaped: Self.columns)
                """
        }
        for try await row in try await self.client.query(query, logger: logger) {
            return try Self.pass(row)
        }
        return nil
    }

    package static let migration = SQLMigration(
        "0004_passes",
        [
            """
            CREATE TABLE {schema}.tenant_keys (
                tenant_id UUID PRIMARY KEY,
                pin_key_sealed BYTEA NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE {schema}.passes (
                id UUID PRIMARY KEY,
                tenant_id UUID NOT NULL,
                site_id UUID NOT NULL,
                host_person_id UUID NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('guest', 'contractor', 'courier')),
                label TEXT CHECK (length(label) <= 100),
                door_ids UUID[] NOT NULL CHECK (cardinality(door_ids) BETWEEN 1 AND 16),
                valid_from TIMESTAMPTZ NOT NULL,
                valid_until TIMESTAMPTZ NOT NULL CHECK (valid_until > valid_from),
                max_uses INT CHECK (max_uses BETWEEN 1 AND 1000),
                uses INT NOT NULL DEFAULT 0 CHECK (max_uses IS NULL OR uses <= max_uses),
                schedule TEXT,
                pin_digest BYTEA NOT NULL CHECK (length(pin_digest) = 32),
                nonce BYTEA NOT NULL CHECK (length(nonce) = 8),
                revoked_at TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX passes_pin ON {schema}.passes (tenant_id, site_id, pin_digest)",
            "CREATE INDEX passes_host ON {schema}.passes (tenant_id, host_person_id, created_at DESC)",
            """
            CREATE TABLE {schema}.site_settings (
                tenant_id UUID NOT NULL,
                site_id UUID NOT NULL,
                pin_digits INT NOT NULL DEFAULT 6 CHECK (pin_digits BETWEEN 6 AND 8),
                lockdown_since TIMESTAMPTZ,
                version INT NOT NULL DEFAULT 1,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, site_id)
            )
            """,
        ]
    )
}

package enum PassStoreError: Error {
    /// Every drawn PIN collided (the site's PIN space is nearly full for those doors and times).
    case noFreePIN
}
