import Crypto
package import Foundation
import GatehouseAuth
package import GatehouseNATS
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit
import ServiceLifecycle
import Synchronization

/// Offline bundles: the doors' device tokens (`access.door_device_tokens`, kept as SHA-256) and the
/// bundles themselves, assembled from passes, people's credentials and the site's policy. Changed
/// rows carry `bundle_changed_at` (set by a trigger) so a door's delta is one indexed query.
package struct BundleStore: Sendable {
    let client: PostgresClient
    let schema: String
    let commander: DoorCommander
    let passes: PassStore

    package init(client: PostgresClient, schema: String = AccessService.schema, commander: DoorCommander, passes: PassStore) {
        self.client = client
        self.schema = schema
        self.commander = commander
        self.passes = passes
    }

    var tokens: DoorDeviceTokens { DoorDeviceTokens(client: self.client, schema: self.schema) }

    /// Issues the door's device token (replacing any earlier one); returns it, shown once.
    package func issueToken(tenant: TenantID, door: UUID, logger: Logger) async throws -> String {
        try await self.tokens.issue(tenant: tenant, door: door, logger: logger)
    }

    /// Whether `token` is the door's current device token.
    package func checkToken(tenant: TenantID, door: UUID, token: String, logger: Logger) async throws -> Bool {
        try await self.tokens.check(tenant: tenant, door: door, token: token, logger: logger)
    }

    /// The bundle for `door`: whole, or what changed since `since` (a cursor from an earlier one,
    /// minus ``OfflineBundle/overlapMilliseconds``); `fresh` when a row changed after `since` itself
    /// (rows of the overlap alone are no reason to answer a long-poll early).
    package func bundle(tenant: TenantID, door: DoorInfo, since: Int64?, logger: Logger) async throws -> (OfflineBundle, fresh: Bool) {
        let now = Date()
        let cursor = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        let horizon = now.addingTimeInterval(OfflineBundle.horizon)
        let changedAfter = since.map { Date(timeIntervalSince1970: Double($0 - OfflineBundle.overlapMilliseconds) / 1000) }
        let sinceDate = since.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? .distantPast
        var fresh = since == nil
        let site = try await self.commander.policies.site(tenant: tenant, site: door.siteId, logger: logger)
        let key = try await self.passes.pinKey(tenant, logger: logger)
        var truncated = false

        // Passes for the door that are (or will be within the horizon) valid; in a delta, every
        // changed one, revoked or not.
        var passes: [OfflineBundle.PassEntry] = []
        let passRows = try await self.client.query(
            """
            SELECT id, pin_digest, nonce, valid_from, valid_until, schedule, max_uses, uses, revoked_at IS NOT NULL,
                   bundle_changed_at > \(sinceDate)
            FROM \(unescaped: self.schema).passes
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(door.siteId) AND \(door.id) = ANY(door_ids)
              AND valid_from < \(horizon)
              AND (CASE WHEN \(changedAfter)::timestamptz IS NULL THEN revoked_at IS NULL AND valid_until > now()
                        ELSE bundle_changed_at > \(changedAfter) END)
            ORDER BY valid_from LIMIT \(OfflineBundle.maxPasses + 1)
            """,
            logger: logger
        ).collect()
        for row in passRows.prefix(OfflineBundle.maxPasses) {
            let (id, digest, nonce, from, until, schedule, maxUses, uses, revoked, changed) = try row.decode(
                (UUID, ByteBuffer, ByteBuffer, Date, Date, String?, Int?, Int, Bool, Bool).self
            )
            fresh = fresh || changed
            passes.append(
                OfflineBundle.PassEntry(
                    id: id,
                    pinDigest: Data(Array(buffer: digest)).base64EncodedString(),
                    nonce: Data(Array(buffer: nonce)).base64EncodedString(),
                    validFrom: from,
                    validUntil: until,
                    schedule: try schedule.map(PolicyStore.schedule),
                    maxUses: maxUses,
                    uses: uses,
                    revoked: revoked
                )
            )
        }
        truncated = truncated || passRows.count > OfflineBundle.maxPasses

        // People's PINs (of this site), cards and plates, with each holder's authority here.
        let credentialRows = try await self.client.query(
            """
            SELECT id, person_id, kind, lookup_digest, valid_from, valid_until, revoked_at IS NOT NULL, bundle_changed_at > \(sinceDate)
            FROM \(unescaped: self.schema).credentials
            WHERE tenant_id = \(tenant.rawValue) AND kind IN ('pin', 'card', 'plate') AND (site_id IS NULL OR site_id = \(door.siteId))
              AND valid_from < \(horizon)
              AND (CASE WHEN \(changedAfter)::timestamptz IS NULL THEN revoked_at IS NULL AND (valid_until IS NULL OR valid_until > now())
                        ELSE bundle_changed_at > \(changedAfter) END)
            ORDER BY created_at LIMIT \(OfflineBundle.maxPeople + 1)
            """,
            logger: logger
        ).collect()
        truncated = truncated || credentialRows.count > OfflineBundle.maxPeople
        var authorities: [UUID: (AccessReason, [UUID])] = [:]
        let doorGroups = site.groups.values.filter { $0.doorIds.contains(door.id) }
        var credentials: [OfflineBundle.CredentialEntry] = []
        for row in credentialRows.prefix(OfflineBundle.maxPeople) {
            let (id, person, kind, digest, from, until, revoked, changed) = try row.decode(
                (UUID, UUID, String, ByteBuffer, Date, Date?, Bool, Bool).self
            )
            fresh = fresh || changed
            if authorities[person] == nil {
                var authority = AccessReason.invalidCredential
                do {
                    authority = DoorAuthority.decide(
                        person: try await self.commander.bus.request(PersonLookup(personId: person), tenant: tenant),
                        door: door
                    )
                } catch let error as WireError where error.code == .notFound {}
                var groups: [UUID] = []
                if authority == .noAuthority, !doorGroups.isEmpty {
                    let memberships = try await self.commander.policies.memberships(tenant: tenant, site: door.siteId, person: person, logger: logger)
                    groups = doorGroups.map(\.id).filter(memberships.contains)
                }
                authorities[person] = (authority, groups)
            }
            guard let (authority, groups) = authorities[person] else { continue }
            // A whole bundle leaves out who opens nothing here; a delta says so (the door drops them).
            let opensHere = authority.grants || !groups.isEmpty
            if changedAfter == nil && !opensHere { continue }
            credentials.append(
                OfflineBundle.CredentialEntry(
                    id: id,
                    personId: person,
                    kind: kind,
                    digest: Data(Array(buffer: digest)).base64EncodedString(),
                    authority: opensHere ? authority : .noAuthority,
                    groupIds: groups,
                    validFrom: from,
                    validUntil: until,
                    revoked: revoked || !opensHere
                )
            )
        }

        let policy = site.doors[door.id] ?? DoorPolicy()
        let bundle = OfflineBundle(
            tenantId: tenant,
            doorId: door.id,
            siteId: door.siteId,
            timeZone: door.timeZone,
            cursor: cursor,
            since: since,
            generatedAt: now,
            validUntil: horizon,
            credentialKey: Data(key).base64EncodedString(),
            signingKey: self.signingKey,
            lockdown: site.lockdown,
            hours: policy.hours,
            freeAccess: policy.freeAccess,
            holidays: site.holidays.days.keys.sorted().map(\.description),
            exceptions: site.exceptions.filter { $0.doorId == nil || $0.doorId == door.id }.map {
                OfflineBundle.Exception(id: $0.id, startsAt: $0.startsAt, endsAt: $0.endsAt, mode: $0.mode.rawValue)
            },
            groups: doorGroups.map { OfflineBundle.Group(id: $0.id, schedule: $0.schedule) },
            passes: passes,
            credentials: credentials,
            truncated: truncated
        )
        return (bundle, fresh)
    }

    /// Records decisions a door took offline: each one once (by the door's id for it), as an
    /// `access.decision_made` event with `offline: true` and the door's time, and a granted pass's
    /// use is counted. Returns how many were new.
    package func record(tenant: TenantID, door: DoorInfo, _ decisions: [OfflineDecision], logger: Logger) async throws -> Int {
        guard !decisions.isEmpty else { return 0 }
        let outbox = self.commander.outbox
        return try await self.client.transaction(logger: logger) { connection in
            var fresh = Set<UUID>()
            for try await id in try await connection.query(
                """
                INSERT INTO \(unescaped: self.schema).offline_decisions (tenant_id, door_id, id, decided_at)
                SELECT \(tenant.rawValue), \(door.id), d.id, d.at FROM unnest(\(decisions.map(\.id))::uuid[], \(decisions.map(\.at))::timestamptz[]) AS d(id, at)
                ON CONFLICT DO NOTHING RETURNING id
                """,
                logger: logger
            ).decode(UUID.self) {
                fresh.insert(id)
            }
            var rows: [OutboxWriter.Row] = []
            var uses: [UUID: Int] = [:]
            for decision in decisions where fresh.contains(decision.id) {
                let context = EventContext(
                    site: door.siteId,
                    building: door.buildingId,
                    door: door.id,
                    person: decision.personId,
                    pass: decision.passId,
                    outcome: decision.granted ? "granted" : "denied",
                    reason: decision.reason.rawValue
                )
                let data = AccessDecisionMade(
                    doorId: door.id,
                    granted: decision.granted,
                    reason: decision.reason,
                    channel: decision.channel,
                    personId: decision.personId,
                    callId: nil,
                    passId: decision.passId,
                    offline: true
                )
                rows.append(
                    try OutboxWriter.Row(
                        outbox.event(
                            data,
                            tenant: tenant,
                            subject: "door/\(door.id.lowercasedString)",
                            id: Self.eventID(tenant: tenant, door: door.id, decision: decision.id),
                            time: decision.at,
                            context: context
                        )
                    )
                )
                if decision.granted, decision.reason == .pass, let pass = decision.passId { uses[pass, default: 0] += 1 }
            }
            try await outbox.insert(rows, on: connection, logger: logger)
            for (pass, count) in uses {
                try await connection.query(
                    """
                    UPDATE \(unescaped: self.schema).passes
                    SET uses = CASE WHEN max_uses IS NULL THEN uses + \(count) ELSE least(max_uses, uses + \(count)) END
                    WHERE tenant_id = \(tenant.rawValue) AND id = \(pass) AND \(door.id) = ANY(door_ids)
                    """,
                    logger: logger
                )
            }
            return fresh.count
        }
    }

    /// The event id of a door's offline decision: derived from tenant, door and the door's own id,
    /// so one door cannot claim another's event ids.
    static func eventID(tenant: TenantID, door: UUID, decision: UUID) -> UUID {
        var bytes = Array(
            SHA256.hash(data: Array("offline-decision/\(tenant)/\(door.lowercasedString)/\(decision.lowercasedString)".utf8)).prefix(16)
        )
        bytes[6] = bytes[6] & 0x0F | 0x80  // version 8 (custom, RFC 9562)
        bytes[8] = bytes[8] & 0x3F | 0x80  // variant
        return UUID(bytes: bytes)
    }

    /// The Ed25519 key that signs bundles and QR tokens, base64 (raw): doors pin it.
    package var signingKey: String { self.passes.keys.verifyingBase64 }

    package func sign(_ bundle: OfflineBundle) throws -> SignedBundle { try SignedBundle.sign(bundle, with: self.passes.keys.signing) }

    package static let migration = SQLMigration(
        "0008_offline_bundles",
        [
            """
            CREATE TABLE {schema}.door_device_tokens (
                tenant_id UUID NOT NULL,
                door_id UUID NOT NULL,
                token_digest BYTEA NOT NULL CHECK (length(token_digest) = 32),
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, door_id)
            )
            """,
            """
            CREATE FUNCTION {schema}.mark_bundle_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.bundle_changed_at := clock_timestamp();
                RETURN NEW;
            END $$
            """,
            "ALTER TABLE {schema}.passes ADD COLUMN bundle_changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()",
            "ALTER TABLE {schema}.credentials ADD COLUMN bundle_changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()",
            """
            CREATE TRIGGER passes_bundle_change BEFORE INSERT OR UPDATE ON {schema}.passes
            FOR EACH ROW EXECUTE FUNCTION {schema}.mark_bundle_change()
            """,
            """
            CREATE TRIGGER credentials_bundle_change BEFORE INSERT OR UPDATE ON {schema}.credentials
            FOR EACH ROW EXECUTE FUNCTION {schema}.mark_bundle_change()
            """,
            "CREATE INDEX passes_bundle_change ON {schema}.passes (tenant_id, site_id, bundle_changed_at)",
            "CREATE INDEX credentials_bundle_change ON {schema}.credentials (tenant_id, bundle_changed_at)",
        ]
    )

    package static let decisionsMigration = SQLMigration(
        "0009_offline_decisions",
        [
            """
            CREATE TABLE {schema}.offline_decisions (
                tenant_id UUID NOT NULL,
                door_id UUID NOT NULL,
                id UUID NOT NULL,
                decided_at TIMESTAMPTZ NOT NULL,
                reported_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, door_id, id)
            )
            """
        ]
    )
}

/// Doors' device tokens (`access.door_device_tokens`): `ghd_` + 43 base64url characters (32 random
/// bytes), kept only as SHA-256, one per door.
package struct DoorDeviceTokens: Sendable {
    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = AccessService.schema) {
        self.client = client
        self.schema = schema
    }

    static let prefix = "ghd_"

    /// Issues the door's token (replacing any earlier one); returns it, shown once. `keeping` a token
    /// issued before (the demo seed re-run) stores that one again instead of making a new one.
    package func issue(tenant: TenantID, door: UUID, keeping existing: String? = nil, logger: Logger) async throws -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let fresh = Self.prefix + Base64URL.encode(bytes)
        let token = existing.flatMap { $0.hasPrefix(Self.prefix) && $0.utf8.count == fresh.utf8.count ? $0 : nil } ?? fresh
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        try await self.client.query(
            """
            INSERT INTO \(unescaped: self.schema).door_device_tokens (tenant_id, door_id, token_digest)
            VALUES (\(tenant.rawValue), \(door), \(ByteBuffer(bytes: digest)))
            ON CONFLICT (tenant_id, door_id) DO UPDATE SET token_digest = excluded.token_digest, created_at = now()
            """,
            logger: logger
        )
        return token
    }

    /// Whether `token` is the door's current token.
    package func check(tenant: TenantID, door: UUID, token: String, logger: Logger) async throws -> Bool {
        guard token.hasPrefix(Self.prefix), token.utf8.count <= 100 else { return false }
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        for try await stored in try await self.client.query(
            """
            SELECT token_digest FROM \(unescaped: self.schema).door_device_tokens
            WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door)
            """,
            logger: logger
        ).decode(ByteBuffer.self) {
            // Constant time: the digests are compared whole.
            let bytes = Array(buffer: stored)
            return bytes.count == digest.count && zip(bytes, digest).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
        return false
    }
}

/// Wakes doors waiting for their bundle to change (long-polls): fed by access's own events on NATS
/// (``BundleFeed``), so a change made through any access instance wakes them.
package final class BundleNotifier: Sendable {
    private let waiters = Mutex<[TenantID: [UInt64: AsyncStream<Void>.Continuation]]>([:])
    private let counter = Atomic<UInt64>(0)

    package init() {}

    /// Waits until the tenant's access data changes or `timeout` passes; `register` runs after the
    /// waiter is in place (so a change during it is not missed) and may end the wait at once by
    /// answering `true`.
    package func wait(tenant: TenantID, timeout: Duration, register: () async throws -> Bool) async throws {
        let id = self.counter.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.waiters.withLock { $0[tenant, default: [:]][id] = continuation }
        defer {
            self.waiters.withLock { waiters in
                waiters[tenant]?[id] = nil
                if waiters[tenant]?.isEmpty == true { waiters[tenant] = nil }
            }
            continuation.finish()
        }
        guard try await !register() else { return }
        // A shutting-down server answers its long-polls at once instead of holding them open.
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in stream { return }
                }
                group.addTask { try? await Task.sleep(for: timeout) }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            continuation.yield()
        }
    }

    package func notify(tenant: TenantID) {
        let continuations = self.waiters.withLock { $0[tenant].map { Array($0.values) } ?? [] }
        for continuation in continuations { continuation.yield() }
    }

    /// Doors waiting now.
    package var waiting: Int { self.waiters.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}

/// Feeds ``BundleNotifier`` from access's events on NATS (passes, credentials, policies,
/// lockdown), whichever access instance wrote them.
package struct BundleFeed: Service {
    let nats: NATSClient
    let notifier: BundleNotifier
    let logger: Logger

    package init(nats: NATSClient, notifier: BundleNotifier, logger: Logger) {
        self.nats = nats
        self.notifier = notifier
        self.logger = logger
    }

    /// The event names that change a bundle.
    static let names: Set<Substring> = [
        "pass_created", "pass_revoked", "credential_issued", "credential_revoked", "consent_changed", "policy_changed", "lockdown_changed",
    ]

    package func run() async throws {
        var backoff = Duration.milliseconds(200)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let events = try await self.nats.subscribe(to: "gatehouse.v1.evt.*.\(ServiceName.access).>")
                backoff = .milliseconds(200)
                for await message in events.cancelOnGracefulShutdown() {
                    let tokens = message.subject.split(separator: ".")
                    guard tokens.count == 6, Self.names.contains(tokens[5]), let tenant = TenantID(String(tokens[3])) else { continue }
                    self.notifier.notify(tenant: tenant)
                }
            } catch {
                self.logger.warning("bundle feed subscription failed; retrying", metadata: ["error.type": "\(error)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }
}
