import Crypto
package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// A person's credential: the value is never kept, only its keyed digest (and a phone's public key).
package struct PersonCredential: Sendable, Hashable {
    package var id: UUID
    package var personId: UUID
    package var kind: CredentialKind
    /// The site a PIN belongs to (PINs are per site; other kinds are per tenant).
    package var siteId: UUID?
    package var label: String?
    /// A mobile key's P-256 public key (X9.63).
    package var publicKey: [UInt8]?
    package var validFrom: Date
    package var validUntil: Date?
    package var revokedAt: Date?
    package var createdAt: Date
    package var lastUsedAt: Date?

    package var summary: CredentialSummary { CredentialSummary(credentialId: self.id, personId: self.personId, kind: self.kind.rawValue) }

    /// Why the credential alone opens nothing at `instant` (`nil`: it may open).
    package func refusal(at instant: Date) -> AccessReason? {
        if self.revokedAt != nil { return .revoked }
        if instant < self.validFrom || self.validUntil.map({ instant >= $0 }) == true { return .invalidTime }
        return nil
    }

    /// Limits (docs/operations.md): 50 credentials per person, labels up to 100 characters.
    package static let maxPerPerson = 50
}

/// `access.credentials`, `mobile_key_nonces` and `biometric_consents`.
package struct CredentialStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter
    let passes: PassStore

    package init(client: PostgresClient, schema: String = AccessService.schema, outbox: OutboxWriter, passes: PassStore) {
        self.client = client
        self.schema = schema
        self.outbox = outbox
        self.passes = passes
    }

    static let columns = "id, person_id, kind, site_id, label, public_key, valid_from, valid_until, revoked_at, created_at, last_used_at"

    static func credential(_ row: PostgresRow) throws -> PersonCredential {
        let (id, person, kind, site, label, key, from, until, revoked, created, used) = try row.decode(
            (UUID, UUID, String, UUID?, String?, ByteBuffer?, Date, Date?, Date?, Date, Date?).self
        )
        guard let kind = CredentialKind(rawValue: kind) else { throw GatehouseError.decodingFailed("credential kind \(kind)") }
        return PersonCredential(
            id: id,
            personId: person,
            kind: kind,
            siteId: site,
            label: label,
            publicKey: key.map { Array(buffer: $0) },
            validFrom: from,
            validUntil: until,
            revokedAt: revoked,
            createdAt: created,
            lastUsedAt: used
        )
    }

    /// What to issue. The value is the canonical text (``CredentialValue``); for a mobile key the
    /// X9.63 public key; for a PIN nothing (one is drawn).
    package struct Input: Sendable {
        package var personId: UUID
        package var kind: CredentialKind
        package var value: String?
        package var publicKey: [UInt8]?
        package var siteId: UUID?
        package var label: String?
        package var validFrom: Date
        package var validUntil: Date?

        package init(
            personId: UUID,
            kind: CredentialKind,
            value: String? = nil,
            publicKey: [UInt8]? = nil,
            siteId: UUID? = nil,
            label: String? = nil,
            validFrom: Date = Date(),
            validUntil: Date? = nil
        ) {
            self.personId = personId
            self.kind = kind
            self.value = value
            self.publicKey = publicKey
            self.siteId = siteId
            self.label = label
            self.validFrom = validFrom
            self.validUntil = validUntil
        }
    }

    /// Issues the credential; returns it with the PIN drawn for a `pin` (shown once).
    package func issue(tenant: TenantID, _ input: Input, pinDigits: Int = 6, logger: Logger) async throws -> (
        PersonCredential, pin: String?
    ) {
        let key = try await self.passes.pinKey(tenant, logger: logger)
        let id = UUID()
        return try await self.client.transaction(logger: logger) { connection in
            let count =
                try await connection.query(
                    """
                    SELECT count(*) FROM \(unescaped: self.schema).credentials
                    WHERE tenant_id = \(tenant.rawValue) AND person_id = \(input.personId) AND revoked_at IS NULL
                    """,
                    logger: logger
                ).collect().first?.decode(Int.self) ?? 0
            guard count < PersonCredential.maxPerPerson else { throw CredentialStoreError.tooMany }
            if input.kind == .face {
                guard try await self.hasConsent(tenant: tenant, person: input.personId, on: connection, logger: logger) else {
                    throw CredentialStoreError.noConsent
                }
            }
            var pin: String?
            let digest: [UInt8]
            switch input.kind {
            case .pin:
                guard let site = input.siteId else { throw CredentialStoreError.invalid }
                // The same lock as visitor passes' PINs: a PIN is unique among both at the site.
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(site.lowercasedString), 7))", logger: logger)
                var chosen: (String, [UInt8])?
                for _ in 0..<50 {
                    let candidate = String((0..<pinDigits).map { _ in Character(String(Int.random(in: 0...9))) })
                    let candidateDigest = PassKeys.pinDigest(candidate, site: site, key: key)
                    if try await self.pinIsFree(tenant: tenant, site: site, digest: candidateDigest, on: connection, logger: logger) {
                        chosen = (candidate, candidateDigest)
                        break
                    }
                }
                guard let (drawn, drawnDigest) = chosen else { throw PassStoreError.noFreePIN }
                pin = drawn
                digest = drawnDigest
            case .mobileKey:
                guard let publicKey = input.publicKey else { throw CredentialStoreError.invalid }
                digest = CredentialValue.digest(.mobileKey, publicKey.map { String(format: "%02x", $0) }.joined(), key: key)
            case .card, .plate, .face:
                guard let value = input.value else { throw CredentialStoreError.invalid }
                digest = CredentialValue.digest(input.kind, value, key: key)
            }
            var issued: PersonCredential?
            do {
                for try await row in try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.schema).credentials
                        (id, tenant_id, person_id, kind, site_id, lookup_digest, public_key, label, valid_from, valid_until)
                    VALUES (\(id), \(tenant.rawValue), \(input.personId), \(input.kind.rawValue), \(input.siteId), \(ByteBuffer(bytes: digest)),
                            \(input.publicKey.map { ByteBuffer(bytes: $0) }), \(input.label), \(input.validFrom), \(input.validUntil))
                    RETURNING \(unescaped: Self.columns)
                    """,
                    logger: logger
                ) {
                    issued = try Self.credential(row)
                }
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw CredentialStoreError.duplicate
            }
            guard let issued else { throw GatehouseError.decodingFailed("the insert returned no row") }
            try await self.outbox.enqueue(
                CredentialIssued(issued.summary),
                tenant: tenant,
                subject: "person/\(input.personId.lowercasedString)",
                context: EventContext(site: input.siteId, person: input.personId, outcome: "issued"),
                on: connection,
                logger: logger
            )
            return (issued, pin)
        }
    }

    /// Whether no live resident PIN or visitor pass of the site has this digest.
    func pinIsFree(tenant: TenantID, site: UUID, digest: [UInt8], on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query(
            """
            SELECT 1 FROM \(unescaped: self.schema).credentials
            WHERE tenant_id = \(tenant.rawValue) AND kind = 'pin' AND lookup_digest = \(ByteBuffer(bytes: digest)) AND revoked_at IS NULL
            UNION ALL
            SELECT 1 FROM \(unescaped: self.schema).passes
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND pin_digest = \(ByteBuffer(bytes: digest))
              AND revoked_at IS NULL AND valid_until > now()
            LIMIT 1
            """,
            logger: logger
        ).collect().isEmpty
    }

    package func list(tenant: TenantID, person: UUID, logger: Logger) async throws -> [PersonCredential] {
        try await self.client.query(
            """
            SELECT \(unescaped: Self.columns) FROM \(unescaped: self.schema).credentials
            WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person) ORDER BY created_at, id
            """,
            logger: logger
        ).collect().map(Self.credential)
    }

    package func get(tenant: TenantID, id: UUID, logger: Logger) async throws -> PersonCredential? {
        for try await row in try await self.client.query(
            "SELECT \(unescaped: Self.columns) FROM \(unescaped: self.schema).credentials WHERE tenant_id = \(tenant.rawValue) AND id = \(id)",
            logger: logger
        ) {
            return try Self.credential(row)
        }
        return nil
    }

    /// The live credential of `kind` whose value is `canonical` (for a PIN: the PIN at `site`).
    package func lookup(tenant: TenantID, kind: CredentialKind, canonical: String, site: UUID, logger: Logger) async throws -> PersonCredential? {
        let key = try await self.passes.pinKey(tenant, logger: logger)
        let digest = kind == .pin ? PassKeys.pinDigest(canonical, site: site, key: key) : CredentialValue.digest(kind, canonical, key: key)
        // A revoked credential is found too (to say `revoked`), but a live one with the same value wins.
        for try await row in try await self.client.query(
            """
            SELECT \(unescaped: Self.columns) FROM \(unescaped: self.schema).credentials
            WHERE tenant_id = \(tenant.rawValue) AND kind = \(kind.rawValue) AND lookup_digest = \(ByteBuffer(bytes: digest))
            ORDER BY (revoked_at IS NULL) DESC, created_at DESC LIMIT 1
            """,
            logger: logger
        ) {
            return try Self.credential(row)
        }
        return nil
    }

    /// Records a mobile key's nonce; `false` when it was seen before (a replay).
    package func acceptNonce(tenant: TenantID, credential: UUID, nonce: [UInt8], logger: Logger) async throws -> Bool {
        try await !self.client.query(
            """
            WITH pruned AS (
                DELETE FROM \(unescaped: self.schema).mobile_key_nonces
                WHERE credential_id = \(credential) AND seen_at < now() - interval '5 minutes'
            )
            INSERT INTO \(unescaped: self.schema).mobile_key_nonces (tenant_id, credential_id, nonce)
            VALUES (\(tenant.rawValue), \(credential), \(ByteBuffer(bytes: nonce)))
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            logger: logger
        ).collect().isEmpty
    }

    package func markUsed(tenant: TenantID, id: UUID, logger: Logger) async throws {
        try await self.client.query(
            "UPDATE \(unescaped: self.schema).credentials SET last_used_at = now() WHERE tenant_id = \(tenant.rawValue) AND id = \(id)",
            logger: logger
        )
    }

    /// Revokes one credential of `person`; `false` when there is no such live credential.
    package func revoke(tenant: TenantID, person: UUID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.client.transaction(logger: logger) { connection in
            try await self.revokeLive(tenant: tenant, person: person, id: id, on: connection, logger: logger) > 0
        }
    }

    /// Revokes the matching live credentials and records each; how many.
    func revokeLive(
        tenant: TenantID,
        person: UUID,
        id: UUID? = nil,
        kind: CredentialKind? = nil,
        site: UUID? = nil,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        var revoked: [PersonCredential] = []
        for try await row in try await connection.query(
            """
            UPDATE \(unescaped: self.schema).credentials SET revoked_at = now()
            WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person) AND revoked_at IS NULL
              AND (\(id)::uuid IS NULL OR id = \(id)) AND (\(kind?.rawValue)::text IS NULL OR kind = \(kind?.rawValue))
              AND (\(site)::uuid IS NULL OR site_id = \(site))
            RETURNING \(unescaped: Self.columns)
            """,
            logger: logger
        ) {
            revoked.append(try Self.credential(row))
        }
        for credential in revoked {
            try await self.outbox.enqueue(
                CredentialRevoked(credential.summary),
                tenant: tenant,
                subject: "person/\(credential.personId.lowercasedString)",
                context: EventContext(site: credential.siteId, person: credential.personId, outcome: "revoked"),
                on: connection,
                logger: logger
            )
        }
        return revoked.count
    }

    // MARK: Consent to face entry

    func hasConsent(tenant: TenantID, person: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await !connection.query(
            """
            SELECT 1 FROM \(unescaped: self.schema).biometric_consents
            WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person) AND withdrawn_at IS NULL
            """,
            logger: logger
        ).collect().isEmpty
    }

    package struct Consent: Sendable, Hashable {
        package var givenAt: Date
        package var withdrawnAt: Date?
        package var recordedBy: UUID?
        package var evidence: String?
    }

    package func consent(tenant: TenantID, person: UUID, logger: Logger) async throws -> Consent? {
        for try await (given, withdrawn, by, evidence) in try await self.client.query(
            """
            SELECT given_at, withdrawn_at, recorded_by, evidence FROM \(unescaped: self.schema).biometric_consents
            WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person)
            """,
            logger: logger
        ).decode((Date, Date?, UUID?, String?).self) {
            return Consent(givenAt: given, withdrawnAt: withdrawn, recordedBy: by, evidence: evidence)
        }
        return nil
    }

    /// Records consent (`true`) or withdraws it; withdrawing revokes the person's face credentials
    /// at once. A change is a `consent_changed` event.
    package func setConsent(tenant: TenantID, person: UUID, given: Bool, evidence: String?, by actor: UUID?, logger: Logger) async throws {
        try await self.client.transaction(logger: logger) { connection in
            let before = try await self.hasConsent(tenant: tenant, person: person, on: connection, logger: logger)
            if given {
                try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.schema).biometric_consents (tenant_id, person_id, given_at, recorded_by, evidence)
                    VALUES (\(tenant.rawValue), \(person), now(), \(actor), \(evidence))
                    ON CONFLICT (tenant_id, person_id) DO UPDATE SET
                        given_at = CASE WHEN biometric_consents.withdrawn_at IS NULL THEN biometric_consents.given_at ELSE now() END,
                        withdrawn_at = NULL, recorded_by = excluded.recorded_by, evidence = coalesce(excluded.evidence, biometric_consents.evidence)
                    """,
                    logger: logger
                )
            } else {
                try await connection.query(
                    """
                    UPDATE \(unescaped: self.schema).biometric_consents SET withdrawn_at = now(), recorded_by = \(actor)
                    WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person) AND withdrawn_at IS NULL
                    """,
                    logger: logger
                )
                _ = try await self.revokeLive(tenant: tenant, person: person, kind: .face, on: connection, logger: logger)
            }
            guard before != given else { return }
            try await self.outbox.enqueue(
                ConsentChanged(personId: person, consent: given),
                tenant: tenant,
                subject: "person/\(person.lowercasedString)",
                context: EventContext(person: actor, outcome: given ? "given" : "withdrawn"),
                on: connection,
                logger: logger
            )
        }
    }

    /// Whether face entry is allowed for `person` now.
    package func hasConsent(tenant: TenantID, person: UUID, logger: Logger) async throws -> Bool {
        try await self.consent(tenant: tenant, person: person, logger: logger).map { $0.withdrawnAt == nil } ?? false
    }

    package static let migration = SQLMigration(
        "0007_credentials",
        [
            """
            CREATE TABLE {schema}.credentials (
                id UUID PRIMARY KEY,
                tenant_id UUID NOT NULL,
                person_id UUID NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('card', 'plate', 'mobileKey', 'face', 'pin')),
                site_id UUID CHECK ((kind = 'pin') = (site_id IS NOT NULL)),
                lookup_digest BYTEA NOT NULL CHECK (length(lookup_digest) = 32),
                public_key BYTEA CHECK ((kind = 'mobileKey') = (public_key IS NOT NULL)),
                label TEXT CHECK (length(label) <= 100),
                valid_from TIMESTAMPTZ NOT NULL DEFAULT now(),
                valid_until TIMESTAMPTZ CHECK (valid_until > valid_from),
                revoked_at TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                last_used_at TIMESTAMPTZ
            )
            """,
            "CREATE UNIQUE INDEX credentials_live_value ON {schema}.credentials (tenant_id, kind, lookup_digest) WHERE revoked_at IS NULL",
            "CREATE INDEX credentials_lookup ON {schema}.credentials (tenant_id, kind, lookup_digest)",
            "CREATE INDEX credentials_person ON {schema}.credentials (tenant_id, person_id)",
            """
            CREATE TABLE {schema}.mobile_key_nonces (
                tenant_id UUID NOT NULL,
                credential_id UUID NOT NULL,
                nonce BYTEA NOT NULL CHECK (length(nonce) = 16),
                seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (credential_id, nonce)
            )
            """,
            """
            CREATE TABLE {schema}.biometric_consents (
                tenant_id UUID NOT NULL,
                person_id UUID NOT NULL,
                given_at TIMESTAMPTZ NOT NULL,
                withdrawn_at TIMESTAMPTZ,
                recorded_by UUID,
                evidence TEXT CHECK (length(evidence) <= 200),
                PRIMARY KEY (tenant_id, person_id)
            )
            """,
        ]
    )
}

package enum CredentialStoreError: Error {
    /// Another live credential of the tenant has this value.
    case duplicate
    case tooMany
    /// Face credentials need the person's recorded consent.
    case noConsent
    case invalid
}
