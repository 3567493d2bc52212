import Crypto
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

/// Credentials presented at a door (PINs, QR codes, cards, plates, mobile keys, faces): look up,
/// rate-limit, decide, count, open.
package struct CredentialDesk: Sendable {
    let commander: DoorCommander
    let passes: PassStore
    let credentials: CredentialStore
    let guardian: BruteForceGuard

    package init(commander: DoorCommander, passes: PassStore, credentials: CredentialStore, guardian: BruteForceGuard) {
        self.commander = commander
        self.passes = passes
        self.credentials = credentials
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
        guard request.credentialCount == 1 else {
            throw WireError(code: .invalidRequest, message: "give exactly one of pin, qr, card, plate, mobileKey or face")
        }
        if let source = request.source, source.utf8.count > 64 || source.containsControlCharacters {
            throw WireError(code: .invalidRequest, message: "source is at most 64 printable characters")
        }
        let channel: UnlockChannel =
            if request.pin != nil { .pin } else if request.qr != nil { .qr } else if request.card != nil { .card } else if request.plate != nil {
                .plate
            } else if request.mobileKey != nil { .mobileKey } else { .face }
        let desk = Presentation(
            desk: self,
            tenant: tenant,
            door: door,
            channel: channel,
            source: request.source,
            now: now,
            started: started,
            logger: logger
        )
        // PINs and card numbers can be guessed (a card by a Wiegand emulator): they are rate-limited.
        // A QR code or mobile key needs a forged signature, a plate or face a physical presence.
        let guessable = channel == .pin || channel == .card
        if guessable, try await self.guardian.isBlocked(tenant: tenant, door: door.id, source: request.source, logger: logger) {
            return try await desk.record(.rateLimited)
        }
        switch channel {
        case .pin:
            guard let pin = request.pin, (4...12).contains(pin.count), pin.allSatisfy(\.isASCII), pin.allSatisfy(\.isNumber) else {
                return try await desk.unknown(counted: true)
            }
            let digest = PassKeys.pinDigest(pin, site: door.siteId, key: try await self.passes.pinKey(tenant, logger: logger))
            if let granted = try await desk.useDirectly(.pin(site: door.siteId, digest: digest), notAfter: notAfter) { return granted }
            if let pass = try await self.passes.byPIN(tenant: tenant, site: door.siteId, door: door.id, pin: pin, logger: logger) {
                return try await desk.use(pass, notAfter: notAfter)
            }
            let credential = try await self.credentials.lookup(tenant: tenant, kind: .pin, canonical: pin, site: door.siteId, logger: logger)
            return try await desk.use(credential, counted: true, notAfter: notAfter)
        case .qr:
            guard let qr = request.qr, let token = PassToken(verifying: qr, with: self.passes.keys.verifying), token.tenant == tenant,
                token.doors.contains(door.id)
            else { return try await desk.unknown(counted: false) }
            // Verified offline; the stored pass decides revocation and uses (and must be this token's).
            if let granted = try await desk.useDirectly(.token(pass: token.pass, nonce: token.nonce), notAfter: notAfter) { return granted }
            guard let pass = try await self.passes.get(tenant: tenant, id: token.pass, logger: logger), pass.nonce == token.nonce else {
                return try await desk.unknown(counted: false)
            }
            return try await desk.use(pass, notAfter: notAfter)
        case .card:
            guard let card = request.card, ["wiegand26", "wiegand34", "uid"].contains(card.format) else {
                throw WireError(code: .invalidRequest, message: "card.format is wiegand26, wiegand34 or uid")
            }
            guard case .success(let value) = CredentialValue.card(card) else { return try await desk.unknown(counted: true) }
            let credential = try await self.credentials.lookup(tenant: tenant, kind: .card, canonical: value, site: door.siteId, logger: logger)
            return try await desk.use(credential, counted: true, notAfter: notAfter)
        case .plate:
            guard case .success(let plate) = CredentialValue.plate(request.plate ?? "") else {
                throw WireError(code: .invalidRequest, message: "a plate is 2 to 12 letters and digits")
            }
            let credential = try await self.credentials.lookup(tenant: tenant, kind: .plate, canonical: plate, site: door.siteId, logger: logger)
            return try await desk.use(credential, counted: false, notAfter: notAfter)
        case .face:
            guard case .success(let template) = CredentialValue.faceTemplate(request.face?.templateId ?? "") else {
                throw WireError(code: .invalidRequest, message: "face.templateId is 1 to 64 printable ASCII characters")
            }
            let credential = try await self.credentials.lookup(tenant: tenant, kind: .face, canonical: template, site: door.siteId, logger: logger)
            return try await desk.use(credential, counted: false, notAfter: notAfter)
        case .mobileKey:
            guard let proof = request.mobileKey,
                let credential = try await self.credentials.get(tenant: tenant, id: proof.credentialId, logger: logger),
                credential.kind == .mobileKey, let keyBytes = credential.publicKey,
                let key = try? P256.Signing.PublicKey(x963Representation: keyBytes)
            else { return try await desk.unknown(counted: false) }
            switch MobileKeyCheck.check(proof, key: key, tenant: tenant, door: door.id, now: now) {
            case .malformed, .badSignature:
                return try await desk.unknown(counted: false)
            case .stale:
                return try await desk.record(.invalidTime, person: credential.personId)
            case .valid(let nonce):
                guard try await self.credentials.acceptNonce(tenant: tenant, credential: credential.id, nonce: nonce, logger: logger) else {
                    logger.notice("a mobile key's nonce was replayed", metadata: ["credential": "\(credential.id)"])
                    return try await desk.record(.invalidCredential, person: credential.personId)
                }
                return try await desk.use(credential, counted: false, notAfter: notAfter)
            }
        case .call, .api:
            throw WireError(code: .invalidRequest, message: "no credential")
        }
    }

    /// One presentation at one door: the steps every kind of credential shares.
    struct Presentation {
        let desk: CredentialDesk
        let tenant: TenantID
        let door: DoorInfo
        let channel: UnlockChannel
        let source: String?
        let now: Date
        let started: ContinuousClock.Instant
        let logger: Logger

        var commander: DoorCommander { self.desk.commander }

        /// Records the decision (and for a grant opens the door).
        func record(
            _ reason: AccessReason,
            person: UUID? = nil,
            pass: UUID? = nil,
            also: [BruteForceSuspected] = [],
            notAfter: ContinuousClock.Instant? = nil
        ) async throws -> UnlockResult {
            let decision = DoorCommander.Decision(door: self.door, reason: reason, channel: self.channel, person: person, call: nil, pass: pass)
            return try await self.commander.carryOut(
                decision,
                tenant: self.tenant,
                started: self.started,
                also: also,
                notAfter: reason.grants ? notAfter : nil,
                logger: self.logger
            )
        }

        /// No such credential; a guessable one counts towards the door's back-off.
        func unknown(counted: Bool) async throws -> UnlockResult {
            let events =
                counted
                ? try await self.desk.guardian.recordFailure(tenant: self.tenant, door: self.door.id, source: self.source, logger: self.logger) : []
            return try await self.record(.invalidCredential, also: events)
        }

        /// The common grant in one statement: the site's policy allows passes now and the pass is
        /// live, unscheduled and has uses left. `nil`: take the detailed path.
        func useDirectly(_ presented: PassStore.Presented, notAfter: ContinuousClock.Instant?) async throws -> UnlockResult? {
            let reason = try await self.commander.decide(
                tenant: self.tenant,
                authority: .pass,
                person: nil,
                door: self.door,
                at: self.now,
                logger: self.logger
            )
            guard reason == .pass,
                let used = try await self.desk.passes.useDirectly(
                    tenant: self.tenant,
                    presented,
                    door: self.door.id,
                    at: self.now,
                    logger: self.logger
                )
            else { return nil }
            return try await self.record(.pass, person: used.hostPersonId, pass: used.id, notAfter: notAfter)
        }

        /// A visitor pass: the site's policy first (a pass is not used up by a refusal), then the
        /// pass's own window, schedule and uses, counted exactly once.
        func use(_ pass: Pass, notAfter: ContinuousClock.Instant?) async throws -> UnlockResult {
            let reason = try await self.commander.decide(
                tenant: self.tenant,
                authority: .pass,
                person: nil,
                door: self.door,
                at: self.now,
                logger: self.logger
            )
            guard reason == .pass else { return try await self.record(reason, person: pass.hostPersonId, pass: pass.id, notAfter: notAfter) }
            let site = try await self.commander.policies.site(tenant: self.tenant, site: self.door.siteId, logger: self.logger)
            let timeZone = TimeZone(identifier: self.door.timeZone) ?? .gmt
            switch try await self.desk.passes.use(
                tenant: self.tenant,
                pass,
                door: self.door.id,
                at: self.now,
                timeZone: timeZone,
                holidays: site.holidays,
                logger: self.logger
            ) {
            case .granted(let used):
                return try await self.record(.pass, person: used.hostPersonId, pass: used.id, notAfter: notAfter)
            case .denied(let reason, let current):
                return try await self.record(reason, person: current?.hostPersonId, pass: current?.id)
            }
        }

        /// A person's credential: its own state, consent for a face, then the person's authority
        /// under the site's policy.
        func use(_ credential: PersonCredential?, counted: Bool, notAfter: ContinuousClock.Instant?) async throws -> UnlockResult {
            guard let credential else { return try await self.unknown(counted: counted) }
            // Without consent a face opens nothing, whatever else holds (withdrawing consent also
            // revokes the person's face credentials).
            if credential.kind == .face,
                try await !self.desk.credentials.hasConsent(tenant: self.tenant, person: credential.personId, logger: self.logger)
            {
                return try await self.record(.noConsent, person: credential.personId)
            }
            if let refusal = credential.refusal(at: self.now) { return try await self.record(refusal, person: credential.personId) }
            let reason = try await self.commander.decide(
                tenant: self.tenant,
                person: credential.personId,
                door: self.door,
                at: self.now,
                logger: self.logger
            )
            if reason.grants { try await self.desk.credentials.markUsed(tenant: self.tenant, id: credential.id, logger: self.logger) }
            return try await self.record(reason, person: credential.personId, notAfter: notAfter)
        }
    }
}

/// `access.present_credential`: a PIN typed or a QR code shown at a door.
package struct PresentCredentialHandler: RequestHandler {
    let desk: CredentialDesk

    package init(desk: CredentialDesk) { self.desk = desk }

    package var method: RPCMethod { PresentCredential.method }

    package func handle(_ request: PresentCredential, context: MessageContext) async throws -> UnlockResult {
        let tenant = try context.requiredTenant()
        return try await self.desk.present(tenant: tenant, request, notAfter: context.deadlineInstant, logger: context.logger)
    }
}
