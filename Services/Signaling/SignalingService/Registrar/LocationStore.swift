package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit
import ServiceLifecycle

/// Where a device can be reached: one registered contact (RFC 3261 §10).
package struct Binding: Sendable, Hashable {
    /// The Contact URI as the device registered it.
    package var contact: String
    package var expiresAt: Date
    package var q: Double?
    /// The transport and source address the REGISTER came from: requests go back there, which
    /// gets through the device's NAT (RFC 3581 symmetric routing).
    package var transport: String
    package var sourceIP: String
    package var sourcePort: Int
    /// The signaling instance that holds the device's connection (stream transports).
    package var instance: String
    package var callID: String
    package var cseq: Int64
    package var userAgent: String?
}

/// One contact of a REGISTER, as the registrar decided it.
package struct ContactUpdate: Sendable, Hashable {
    package var contact: String
    /// 0 removes the binding.
    package var expires: Int
    package var q: Double?
}

/// What a REGISTER asks of the location store.
package struct RegistrationUpdate: Sendable {
    package var account: SIPAccount
    /// `user@realm`.
    package var aor: String
    /// Remove every binding (`Contact: *`).
    package var removeAll: Bool
    package var contacts: [ContactUpdate]
    package var callID: String
    package var cseq: Int64
    package var transport: String
    package var sourceIP: String
    package var sourcePort: Int
    package var instance: String
    package var userAgent: String?
}

/// Why the location store refused a REGISTER.
package struct RegistrationError: Error, Sendable, Hashable {
    package var status: Int
    package var detail: String
}

/// The location service in PostgreSQL (decision 0011): shared by every signaling instance,
/// surviving restarts. Changes commit with the device events they cause (outbox).
package struct LocationStore: Sendable {
    package let client: PostgresClient
    package let schema: String
    package let outbox: OutboxWriter
    package let maxContacts: Int

    package init(client: PostgresClient, schema: String = SignalingService.schema, outbox: OutboxWriter, maxContacts: Int) {
        self.client = client
        self.schema = schema
        self.outbox = outbox
        self.maxContacts = maxContacts
    }

    static let columns = "contact, expires_at, q, transport, source_ip, source_port, instance, call_id, cseq, user_agent"

    static func binding(_ row: PostgresRow) throws -> Binding {
        let (contact, expiresAt, q, transport, ip, port, instance, callID, cseq, userAgent) = try row.decode(
            (String, Date, Double?, String, String, Int, String, String, Int64, String?).self
        )
        return Binding(
            contact: contact,
            expiresAt: expiresAt,
            q: q,
            transport: transport,
            sourceIP: ip,
            sourcePort: port,
            instance: instance,
            callID: callID,
            cseq: cseq,
            userAgent: userAgent
        )
    }

    /// Applies a REGISTER (RFC 3261 §10.3 steps 6–8) and returns the device's bindings after it.
    package func register(_ update: RegistrationUpdate, logger: Logger) async throws -> [Binding] {
        let account = update.account
        return try await self.client.transaction(logger: logger) { connection in
            // One REGISTER per device at a time, on every instance.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(account.deviceId.uuidString), 11))",
                logger: logger
            )
            // Expired bindings go, the live ones are read: one round trip (the SELECT sees the rows
            // as they were before the DELETE, hence the same condition).
            var current: [String: Binding] = [:]
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH expired AS (DELETE FROM \(self.schema).bindings WHERE device_id = $1 AND expires_at <= now())
                        SELECT \(Self.columns) FROM \(self.schema).bindings WHERE device_id = $1 AND expires_at > now()
                        """,
                    binds: PostgresBindings(account.deviceId)
                ),
                logger: logger
            ) {
                let binding = try Self.binding(row)
                current[binding.contact] = binding
            }
            let before = current.count
            var removals: [String] = []
            var upserts: [ContactUpdate] = []
            if update.removeAll {
                removals = Array(current.keys)
            } else {
                for contact in update.contacts {
                    if let existing = current[contact.contact], existing.callID == update.callID, update.cseq <= existing.cseq {
                        throw RegistrationError(status: 500, detail: "out-of-order REGISTER (CSeq not above the binding's)")
                    }
                    if contact.expires == 0 {
                        if current[contact.contact] != nil { removals.append(contact.contact) }
                    } else {
                        upserts.append(contact)
                    }
                }
            }
            let after = Set(current.keys).subtracting(removals).union(upserts.map(\.contact))
            guard after.count <= self.maxContacts else {
                throw RegistrationError(status: 403, detail: "more than \(self.maxContacts) contacts for one device")
            }
            if !removals.isEmpty {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "DELETE FROM \(self.schema).bindings WHERE device_id = $1 AND contact = ANY($2)",
                        binds: PostgresBindings(account.deviceId, removals)
                    ),
                    logger: logger
                )
            }
            var kept = current
            for contact in removals { kept[contact] = nil }
            for contact in upserts {
                var binds = PostgresBindings(capacity: 16)
                binds.append(account.tenantId.rawValue)
                binds.append(account.deviceId)
                binds.append(account.siteId)
                binds.append(account.kind.rawValue)
                binds.append(update.aor)
                binds.append(contact.contact)
                binds.append(contact.expires)
                if let q = contact.q { binds.append(q) } else { binds.appendNull() }
                binds.append(update.transport)
                binds.append(update.sourceIP)
                binds.append(update.sourcePort)
                binds.append(update.instance)
                binds.append(update.callID)
                binds.append(update.cseq)
                if let agent = update.userAgent { binds.append(agent) } else { binds.appendNull() }
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).bindings
                                (tenant_id, device_id, site_id, device_kind, aor, contact, expires_at, q, transport, source_ip,
                                 source_port, instance, call_id, cseq, user_agent)
                            VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision), $8, $9, $10, $11, $12, $13, $14, $15)
                            ON CONFLICT (device_id, contact) DO UPDATE SET
                                expires_at = EXCLUDED.expires_at, q = EXCLUDED.q, transport = EXCLUDED.transport,
                                source_ip = EXCLUDED.source_ip, source_port = EXCLUDED.source_port, instance = EXCLUDED.instance,
                                call_id = EXCLUDED.call_id, cseq = EXCLUDED.cseq, user_agent = EXCLUDED.user_agent,
                                updated_at = now()
                            RETURNING \(Self.columns)
                            """,
                        binds: binds
                    ),
                    logger: logger
                )
                for try await row in rows {
                    let binding = try Self.binding(row)
                    kept[binding.contact] = binding
                }
            }
            let bindings = kept.values.sorted { $0.contact < $1.contact }
            let registration = DeviceRegistration(
                deviceId: account.deviceId,
                siteId: account.siteId,
                kind: account.kind,
                transport: update.transport,
                bindings: bindings.count,
                userAgent: update.userAgent.map { String($0.prefix(128)) },
                expiresAt: bindings.map(\.expiresAt).max()
            )
            let context = EventContext(site: account.siteId, door: account.doorId, unit: account.unitId)
            if before == 0, !bindings.isEmpty {
                try await self.outbox.enqueue(
                    DeviceRegistered(registration),
                    tenant: account.tenantId,
                    subject: "device/\(account.deviceId.lowercasedString)",
                    context: context,
                    on: connection,
                    logger: logger
                )
            } else if before > 0, bindings.isEmpty {
                var gone = registration
                gone.expiresAt = nil
                try await self.outbox.enqueue(
                    DeviceUnregistered(gone),
                    tenant: account.tenantId,
                    subject: "device/\(account.deviceId.lowercasedString)",
                    context: context,
                    on: connection,
                    logger: logger
                )
            }
            return bindings
        }
    }

    /// The live bindings of a device, highest q first.
    package func bindings(tenant: TenantID, device: UUID, logger: Logger) async throws -> [Binding] {
        var bindings: [Binding] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM \(self.schema).bindings
                    WHERE tenant_id = $1 AND device_id = $2 AND expires_at > now()
                    ORDER BY q DESC NULLS LAST, updated_at DESC
                    """,
                binds: PostgresBindings(tenant.rawValue, device)
            ),
            logger: logger
        ) {
            bindings.append(try Self.binding(row))
        }
        return bindings
    }

    /// The live binding with this Contact URI, of any device (dialog routing: the Request-URI of a
    /// request inside a dialog is the device's Contact).
    package func binding(contact: String, logger: Logger) async throws -> Binding? {
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM \(self.schema).bindings WHERE contact = $1 AND expires_at > now() LIMIT 1",
                binds: PostgresBindings(contact)
            ),
            logger: logger
        ) {
            return try Self.binding(row)
        }
        return nil
    }

    /// Deletes up to `limit` expired bindings and announces each device whose last one went;
    /// returns how many bindings it deleted.
    package func sweep(limit: Int = 1_000, logger: Logger) async throws -> Int {
        try await self.client.transaction(logger: logger) { connection in
            var gone: [(tenant: UUID, device: UUID, site: UUID, kind: String, transport: String, userAgent: String?)] = []
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        DELETE FROM \(self.schema).bindings WHERE (device_id, contact) IN (
                            SELECT device_id, contact FROM \(self.schema).bindings WHERE expires_at <= now()
                            ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
                        )
                        RETURNING tenant_id, device_id, site_id, device_kind, transport, user_agent
                        """,
                    binds: PostgresBindings(limit)
                ),
                logger: logger
            ) {
                gone.append(try row.decode((UUID, UUID, UUID, String, String, String?).self))
            }
            guard !gone.isEmpty else { return 0 }
            var remaining: Set<UUID> = []
            let devices = Array(Set(gone.map(\.device)))
            for try await device in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT DISTINCT device_id FROM \(self.schema).bindings WHERE device_id = ANY($1)",
                    binds: PostgresBindings(devices)
                ),
                logger: logger
            ).decode(UUID.self) {
                remaining.insert(device)
            }
            var announced: Set<UUID> = []
            for binding in gone where !remaining.contains(binding.device) && announced.insert(binding.device).inserted {
                let registration = DeviceRegistration(
                    deviceId: binding.device,
                    siteId: binding.site,
                    kind: DeviceKind(rawValue: binding.kind) ?? .sipPhone,
                    transport: binding.transport,
                    bindings: 0,
                    userAgent: binding.userAgent.map { String($0.prefix(128)) },
                    expiresAt: nil
                )
                try await self.outbox.enqueue(
                    DeviceExpired(registration),
                    tenant: TenantID(binding.tenant),
                    subject: "device/\(binding.device.lowercasedString)",
                    context: EventContext(site: binding.site),
                    on: connection,
                    logger: logger
                )
            }
            return gone.count
        }
    }
}

/// Deletes expired bindings every second (decision 0011).
package struct BindingSweeper: Service {
    let store: LocationStore
    let interval: Duration
    let logger: Logger

    package init(store: LocationStore, interval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // Keep going while there is a backlog, one batch at a time.
                while try await self.store.sweep(logger: self.logger) == 1_000 {}
            } catch {
                self.logger.warning("sip: sweeping expired registrations failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: self.interval)
        }
    }
}
