package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// A site's access settings: PIN length and lockdown.
package struct SiteSettings: Sendable, Hashable {
    package var pinDigits = 6
    /// Since when the site is locked down (`nil`: it is not).
    package var lockdownSince: Date?
    package var version = 0

    package static let pinDigitsRange = 6...8
}

/// `access.site_settings`.
package struct SiteSettingsStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = AccessService.schema, outbox: OutboxWriter) {
        self.client = client
        self.schema = schema
        self.outbox = outbox
    }

    struct SiteKey: Hashable, Sendable {
        var tenant: TenantID
        var site: UUID
    }
    /// Settings are read at most once per ``lifetime`` per site: a lockdown set through another
    /// access instance reaches this one within it (through this one: at once).
    package static let lifetime = Duration.seconds(1)
    let cache = ExpiringCache<SiteKey, SiteSettings>(lifetime: lifetime)

    package func get(tenant: TenantID, site: UUID, logger: Logger) async throws -> SiteSettings {
        try await self.cache.value(SiteKey(tenant: tenant, site: site)) { try await self.read(tenant: tenant, site: site, logger: logger) }
            ?? SiteSettings()
    }

    func read(tenant: TenantID, site: UUID, logger: Logger) async throws -> SiteSettings {
        for try await (digits, lockdown, version) in try await self.client.query(
            """
            SELECT pin_digits, lockdown_since, version FROM \(unescaped: self.schema).site_settings
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)
            """,
            logger: logger
        ).decode((Int, Date?, Int).self) {
            return SiteSettings(pinDigits: digits, lockdownSince: lockdown, version: version)
        }
        return SiteSettings()
    }

    /// Sets them; a change of lockdown is an event (who, when) the audit log keeps.
    package func put(tenant: TenantID, site: UUID, pinDigits: Int?, lockdown: Bool?, by person: UUID?, logger: Logger) async throws -> SiteSettings {
        defer { self.cache.remove(SiteKey(tenant: tenant, site: site)) }
        return try await self.client.transaction(logger: logger) { connection in
            var before: Date?
            for try await since in try await connection.query(
                """
                SELECT lockdown_since FROM \(unescaped: self.schema).site_settings
                WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) FOR UPDATE
                """,
                logger: logger
            ).decode(Date?.self) {
                before = since
            }
            var settings = SiteSettings()
            for try await (digits, since, version) in try await connection.query(
                """
                INSERT INTO \(unescaped: self.schema).site_settings (tenant_id, site_id, pin_digits, lockdown_since)
                VALUES (\(tenant.rawValue), \(site), coalesce(\(pinDigits), 6), CASE WHEN \(lockdown ?? false) THEN now() END)
                ON CONFLICT (tenant_id, site_id) DO UPDATE SET
                    pin_digits = coalesce(\(pinDigits), site_settings.pin_digits),
                    lockdown_since = CASE WHEN \(lockdown) IS NULL THEN site_settings.lockdown_since
                                          WHEN \(lockdown) THEN coalesce(site_settings.lockdown_since, now()) END,
                    version = site_settings.version + 1, updated_at = now()
                RETURNING pin_digits, lockdown_since, version
                """,
                logger: logger
            ).decode((Int, Date?, Int).self) {
                settings = SiteSettings(pinDigits: digits, lockdownSince: since, version: version)
            }
            if (before != nil) != (settings.lockdownSince != nil) {
                try await self.outbox.enqueue(
                    LockdownChanged(siteId: site, lockdown: settings.lockdownSince != nil),
                    tenant: tenant,
                    subject: "site/\(site.lowercasedString)",
                    context: EventContext(site: site, person: person, outcome: settings.lockdownSince != nil ? "locked" : "unlocked"),
                    on: connection,
                    logger: logger
                )
            }
            return settings
        }
    }
}

/// Counts wrong credentials per door and per source. After `threshold` within `window` the door
/// (or the source) is refused for 30 s, doubling with each further strike up to an hour
/// (docs/security.md has the PIN keyspace arithmetic). Kept in PostgreSQL so every access instance
/// sees the same counts.
package struct BruteForceGuard: Sendable {
    let client: PostgresClient
    let schema: String
    package var threshold = 5
    package var window: Duration = .seconds(600)
    package var firstBlock: Duration = .seconds(30)
    package var longestBlock: Duration = .seconds(3600)

    package init(client: PostgresClient, schema: String = AccessService.schema) {
        self.client = client
        self.schema = schema
    }

    /// What a failure counts against: the door, and the source at it when the door says who.
    static func keys(source: String?) -> [(scope: String, source: String)] {
        [("door", "")] + (source.map { [("source", $0)] } ?? [])
    }

    /// Whether the door, or the source at it, is refusing everything now.
    package func isBlocked(tenant: TenantID, door: UUID, source: String?, logger: Logger) async throws -> Bool {
        let sources = Self.keys(source: source).map(\.source)
        for try await _ in try await self.client.query(
            """
            SELECT 1 FROM \(unescaped: self.schema).credential_failures
            WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door) AND source = ANY(\(sources)) AND blocked_until > now() LIMIT 1
            """,
            logger: logger
        ) {
            return true
        }
        return false
    }

    /// Counts one wrong credential; the events to record for each key that now blocks.
    package func recordFailure(tenant: TenantID, door: UUID, source: String?, logger: Logger) async throws -> [BruteForceSuspected] {
        var events: [BruteForceSuspected] = []
        let window = Int(self.window.components.seconds)
        let first = Int(self.firstBlock.components.seconds)
        let longest = Int(self.longestBlock.components.seconds)
        for key in Self.keys(source: source) {
            var failures = 0
            for try await count in try await self.client.query(
                """
                INSERT INTO \(unescaped: self.schema).credential_failures AS f (tenant_id, door_id, scope, source, failures, window_started_at)
                VALUES (\(tenant.rawValue), \(door), \(key.scope), \(key.source), 1, now())
                ON CONFLICT (tenant_id, door_id, source) DO UPDATE SET
                    failures = CASE WHEN f.window_started_at < now() - make_interval(secs => \(window)) THEN 1 ELSE f.failures + 1 END,
                    window_started_at = CASE WHEN f.window_started_at < now() - make_interval(secs => \(window)) THEN now()
                                             ELSE f.window_started_at END
                RETURNING failures
                """,
                logger: logger
            ).decode(Int.self) {
                failures = count
            }
            guard failures >= self.threshold else { continue }
            // Block for 30 s · 2^strikes (at most an hour), and count afresh for the next strike.
            for try await blockSeconds in try await self.client.query(
                """
                UPDATE \(unescaped: self.schema).credential_failures
                SET blocked_until = now() + make_interval(secs => least(\(longest), \(first) * power(2, least(strikes, 20))::int)),
                    strikes = strikes + 1, failures = 0, window_started_at = now()
                WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door) AND source = \(key.source)
                RETURNING least(\(longest), \(first) * power(2, least(strikes - 1, 20))::int)
                """,
                logger: logger
            ).decode(Int.self) {
                events.append(BruteForceSuspected(doorId: door, scope: key.scope, failures: failures, blockedSeconds: blockSeconds))
            }
        }
        return events
    }

    package static let migration = SQLMigration(
        "0005_credential_failures",
        [
            """
            CREATE TABLE {schema}.credential_failures (
                tenant_id UUID NOT NULL,
                door_id UUID NOT NULL,
                scope TEXT NOT NULL CHECK (scope IN ('door', 'source')),
                source TEXT NOT NULL CHECK (length(source) <= 64),
                failures INT NOT NULL,
                window_started_at TIMESTAMPTZ NOT NULL,
                strikes INT NOT NULL DEFAULT 0,
                blocked_until TIMESTAMPTZ,
                PRIMARY KEY (tenant_id, door_id, source)
            )
            """
        ]
    )
}

/// PINs and QR codes presented at a door: look up, rate-limit, decide, count, open.
package struct CredentialDesk: Sendable {
    let commander: DoorCommander
    let passes: PassStore
    let guardian: BruteForceGuard

    package init(commander: DoorCommander, passes: PassStore, guardian: BruteForceGuard) {
        self.commander = commander
        self.passes = passes
        self.guardian = guardian
    }

    package func present(
        tenant: TenantID,
        _ request: PresentCredential,
        at now: Date = Date(),
        notAfter: ContinuousClock.Instant? = nil,
        logger: Logger
    ) async throws -> UnlockResult {
        let started = ContinuousClock.now
        guard let door = try await self.commander.door(tenant: tenant, id: request.doorId) else {
            throw WireError(code: .notFound, message: "no such door")
        }
        guard (request.pin == nil) != (request.qr == nil) else { throw WireError(code: .invalidRequest, message: "give either pin or qr") }
        if let source = request.source, source.utf8.count > 64 || source.containsControlCharacters {
            throw WireError(code: .invalidRequest, message: "source is at most 64 printable characters")
        }
        let channel: UnlockChannel = request.pin != nil ? .pin : .qr
        func decision(_ reason: AccessReason, pass: UUID? = nil, host: UUID? = nil) -> DoorCommander.Decision {
            DoorCommander.Decision(door: door, reason: reason, channel: channel, person: host, call: nil, pass: pass)
        }
        // Only PINs can be guessed: a blocked door still takes QR codes (forging one means forging
        // an Ed25519 signature).
        if request.pin != nil, try await self.guardian.isBlocked(tenant: tenant, door: door.id, source: request.source, logger: logger) {
            return try await self.commander.carryOut(decision(.rateLimited), tenant: tenant, started: started, logger: logger)
        }
        var pass: Pass?
        if let pin = request.pin {
            if (4...12).contains(pin.count), pin.allSatisfy(\.isASCII), pin.allSatisfy(\.isNumber) {
                pass = try await self.passes.byPIN(tenant: tenant, site: door.siteId, door: door.id, pin: pin, logger: logger)
            }
        } else if let qr = request.qr, let token = PassToken(verifying: qr, with: self.passes.keys.verifying), token.tenant == tenant,
            token.doors.contains(door.id)
        {
            // Verified offline; the stored pass decides revocation and uses (and must be this token's).
            pass = try await self.passes.get(tenant: tenant, id: token.pass, logger: logger).flatMap { $0.nonce == token.nonce ? $0 : nil }
        }
        guard let pass else {
            let events =
                request.pin == nil ? [] : try await self.guardian.recordFailure(tenant: tenant, door: door.id, source: request.source, logger: logger)
            return try await self.commander.carryOut(decision(.invalidCredential), tenant: tenant, started: started, also: events, logger: logger)
        }
        if try await self.commander.settings.get(tenant: tenant, site: door.siteId, logger: logger).lockdownSince != nil {
            return try await self.commander.carryOut(
                decision(.lockdown, pass: pass.id, host: pass.hostPersonId),
                tenant: tenant,
                started: started,
                logger: logger
            )
        }
        let timeZone = TimeZone(identifier: door.timeZone) ?? .gmt
        switch try await self.passes.use(tenant: tenant, pass, door: door.id, at: now, timeZone: timeZone, logger: logger) {
        case .granted(let used):
            return try await self.commander.carryOut(
                decision(.pass, pass: used.id, host: used.hostPersonId),
                tenant: tenant,
                started: started,
                notAfter: notAfter,
                logger: logger
            )
        case .denied(let reason, let current):
            return try await self.commander.carryOut(
                decision(reason, pass: current?.id, host: current?.hostPersonId),
                tenant: tenant,
                started: started,
                logger: logger
            )
        }
    }
}

/// `access.present_credential`: a PIN typed or a QR code shown at a door.
package struct PresentCredentialHandler: RequestHandler {
    let desk: CredentialDesk

    package init(desk: CredentialDesk) { self.desk = desk }

    package var method: RPCMethod { PresentCredential.method }

    package func handle(_ request: PresentCredential, context: MessageContext) async throws -> UnlockResult {
        guard let tenant = context.tenant else {
            throw WireError(code: .invalidRequest, message: "the \(WireHeaders.tenant) header is required")
        }
        return try await self.desk.present(tenant: tenant, request, notAfter: context.deadlineInstant, logger: context.logger)
    }
}
