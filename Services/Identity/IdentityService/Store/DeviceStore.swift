package import Foundation
import GatehouseAuth
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// A door or gate of a site: in a building, or shared (`buildingId == nil`: lobby, garage).
package struct Door: Sendable, Hashable, Codable {
    package enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case door, gate }

    package var id: UUID
    package var siteId: UUID
    package var buildingId: UUID?
    package var name: String
    package var kind: Kind
    package var version: Int
}

/// A device of a site, without secrets.
package struct Device: Sendable, Hashable {
    package var id: UUID
    package var tenant: TenantID
    package var siteId: UUID
    package var kind: DeviceKind
    package var name: String
    package var vendor: String?
    package var model: String?
    package var doorId: UUID?
    package var unitId: UUID?
    package var personId: UUID?
    package var sipUsername: String
    package var sipRealm: String
    package var controlURL: String?
    package var online: Bool
    package var lastSeenAt: Date?
    package var revokedAt: Date?
    package var version: Int
    package var createdAt: Date

    package var info: DeviceInfo {
        DeviceInfo(
            id: self.id,
            tenantId: self.tenant,
            siteId: self.siteId,
            kind: self.kind,
            name: self.name,
            vendor: self.vendor,
            model: self.model,
            doorId: self.doorId,
            unitId: self.unitId,
            personId: self.personId,
            sipUsername: self.sipUsername,
            sipRealm: self.sipRealm,
            controlURL: self.controlURL,
            online: self.online,
            revoked: self.revokedAt != nil,
            version: self.version
        )
    }
}

/// What a new device is; validated by the API (``DevicesAPI``).
package struct DeviceInput: Sendable, Hashable {
    package var siteId: UUID
    package var kind: DeviceKind
    package var name: String
    package var vendor: String?
    package var model: String?
    package var doorId: UUID?
    package var unitId: UUID?
    package var personId: UUID?
    /// `nil`: the service picks one.
    package var sipUsername: String?
    package var controlURL: String?

    package init(
        siteId: UUID,
        kind: DeviceKind,
        name: String,
        vendor: String? = nil,
        model: String? = nil,
        doorId: UUID? = nil,
        unitId: UUID? = nil,
        personId: UUID? = nil,
        sipUsername: String? = nil,
        controlURL: String? = nil
    ) {
        self.siteId = siteId
        self.kind = kind
        self.name = name
        self.vendor = vendor
        self.model = model
        self.doorId = doorId
        self.unitId = unitId
        self.personId = personId
        self.sipUsername = sipUsername
        self.controlURL = controlURL
    }

    package static let vendors: Set<String> = ["2n", "akuvox", "doorbird", "aiphone", "generic"]
}

/// A device's SIP credentials, returned once when they are made.
package struct SIPCredentials: Sendable, Hashable, Codable {
    package var username: String
    package var realm: String
    package var password: String
}

package enum DeviceStoreError: Error, Hashable {
    /// The site, door, unit or person named does not exist in the tenant (or in the site).
    case unknownReference(field: String)
    case sipUsernameTaken
    case notFound
    /// Another door of the site has the name.
    case nameTaken
    /// The door changed since the version the caller read (`current` is its version now).
    case versionMismatch(current: Int)
    /// The door is still served by a door station (`detail` says how many).
    case inUse(detail: String)
}

/// Doors and devices in the identity schema, and the lookups signaling makes. Every query is scoped
/// to the tenant, except the two keyed by a SIP domain (unique across the deployment).
package struct DeviceStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    /// Bytes of entropy in a generated SIP password (20 characters of a 57-letter alphabet ≈ 116 bits).
    package static let passwordLength = 20
    static let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")

    package static func generatePassword() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<Self.passwordLength).map { _ in Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &generator)] })
    }

    static func generateUsername(_ kind: DeviceKind) -> String {
        let prefix =
            switch kind {
            case .doorStation: "door"
            case .sipPhone: "phone"
            case .indoorMonitor: "monitor"
            }
        var generator = SystemRandomNumberGenerator()
        let suffix = String((0..<10).map { _ in Self.alphabet[Int.random(in: 0..<25, using: &generator)] })
        return "\(prefix)-\(suffix)"
    }

    // MARK: Doors

    package func createDoor(tenant: TenantID, site: UUID, building: UUID?, name: String, kind: Door.Kind, logger: Logger) async throws -> Door {
        var binds = PostgresBindings(UUID(), tenant.rawValue, site)
        if let building { binds.append(building) } else { binds.appendNull() }
        binds.append(name)
        binds.append(kind.rawValue)
        do {
            let door: Door? = try await self.client.withTransaction(logger: logger) { connection in
                for try await (id, version) in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).doors (id, tenant_id, site_id, building_id, name, kind)
                            SELECT $1, $2, $3, $4, $5, $6
                            WHERE EXISTS (SELECT 1 FROM \(self.schema).sites WHERE tenant_id = $2 AND id = $3)
                              AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM \(self.schema).buildings WHERE tenant_id = $2 AND site_id = $3 AND id = $4))
                            ON CONFLICT (site_id, name) DO UPDATE SET building_id = EXCLUDED.building_id, kind = EXCLUDED.kind,
                                version = doors.version + 1, updated_at = now()
                            RETURNING id, version
                            """,
                        binds: binds
                    ),
                    logger: logger
                ).decode((UUID, Int).self) {
                    let door = Door(id: id, siteId: site, buildingId: building, name: name, kind: kind, version: version)
                    if version == 1 {
                        try await self.announce(Created.self, door, tenant: tenant, on: connection, logger: logger)
                    } else {
                        try await self.announce(Updated.self, door, tenant: tenant, on: connection, logger: logger)
                    }
                    return door
                }
                return nil
            }
            if let door { return door }
        } catch let error as PostgresTransactionError {
            if let psql = error.closureError as? PSQLError, psql.serverInfo?[.sqlState] == "23503" {
                throw DeviceStoreError.unknownReference(field: "buildingId")
            }
            throw error.closureError ?? error
        }
        throw DeviceStoreError.unknownReference(field: building == nil ? "siteId" : "buildingId")
    }

    /// Announces a change of `door` in the transaction that made it.
    private func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ door: Door,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await self.outbox.enqueue(
            IdentityChanged<DoorDocument, Change>(
                DoorDocument(
                    id: door.id,
                    siteId: door.siteId,
                    buildingId: door.buildingId,
                    name: door.name,
                    kind: door.kind.rawValue,
                    version: door.version
                )
            ),
            tenant: tenant,
            subject: "door/\(door.id.lowercasedString)",
            context: EventContext(site: door.siteId, building: door.buildingId, door: door.id),
            on: connection,
            logger: logger
        )
    }

    /// One door of the tenant.
    package func door(tenant: TenantID, id: UUID, logger: Logger) async throws -> Door? {
        try await self.client.withConnection { connection in try await self.door(tenant: tenant, id: id, lock: false, on: connection, logger: logger)
        }
    }

    private func door(tenant: TenantID, id: UUID, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Door? {
        for try await (site, building, name, kind, version) in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT site_id, building_id, name, kind, version FROM \(self.schema).doors
                    WHERE tenant_id = $1 AND id = $2\(lock ? " FOR UPDATE" : "")
                    """,
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ).decode((UUID, UUID?, String, String, Int).self) {
            return Door(id: id, siteId: site, buildingId: building, name: name, kind: Door.Kind(rawValue: kind) ?? .door, version: version)
        }
        return nil
    }

    /// What a door update sets: each field present replaces the door's (`building` `.some(nil)`:
    /// shared by the site).
    package struct DoorChange: Sendable {
        package var name: String?
        package var kind: Door.Kind?
        package var building: UUID??

        package init(name: String? = nil, kind: Door.Kind? = nil, building: UUID?? = nil) {
            self.name = name
            self.kind = kind
            self.building = building
        }
    }

    /// Changes a door still at `expectedVersion` (`identity.door_updated`); nil when the tenant has
    /// no such door. A building must be of the door's site (``DeviceStoreError/unknownReference(field:)``);
    /// a name taken in the site is ``DeviceStoreError/nameTaken``.
    package func updateDoor(tenant: TenantID, id: UUID, expectedVersion: Int, _ change: DoorChange, logger: Logger) async throws -> Door? {
        do {
            return try await self.client.transaction(logger: logger) { connection in
                guard var door = try await self.door(tenant: tenant, id: id, lock: true, on: connection, logger: logger) else { return nil }
                guard door.version == expectedVersion else { throw DeviceStoreError.versionMismatch(current: door.version) }
                door.name = change.name ?? door.name
                door.kind = change.kind ?? door.kind
                if let building = change.building { door.buildingId = building }
                door.version += 1
                var binds = PostgresBindings(tenant.rawValue, id, door.name, door.kind.rawValue)
                if let building = door.buildingId { binds.append(building) } else { binds.appendNull() }
                binds.append(door.version)
                var updated = false
                for try await _ in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            UPDATE \(self.schema).doors d SET name = $3, kind = $4, building_id = $5, version = $6, updated_at = now()
                            WHERE d.tenant_id = $1 AND d.id = $2
                              AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM \(self.schema).buildings b
                                   WHERE b.tenant_id = $1 AND b.site_id = d.site_id AND b.id = $5))
                            RETURNING 1
                            """,
                        binds: binds
                    ),
                    logger: logger
                ).decode(Int.self) {
                    updated = true
                }
                guard updated else { throw DeviceStoreError.unknownReference(field: "buildingId") }
                try await self.announce(Updated.self, door, tenant: tenant, on: connection, logger: logger)
                return door
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw DeviceStoreError.nameTaken
        }
    }

    /// Deletes a door no live door station serves (``DeviceStoreError/inUse(detail:)`` otherwise):
    /// its revoked stations are deleted with it, and `identity.door_deleted` carries its last state. `false`
    /// when the tenant has no such door.
    package func deleteDoor(tenant: TenantID, id: UUID, logger: Logger) async throws -> Bool {
        try await self.client.transaction(logger: logger) { connection in
            guard let door = try await self.door(tenant: tenant, id: id, lock: true, on: connection, logger: logger) else { return false }
            for try await stations in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*)::int FROM \(self.schema).devices WHERE tenant_id = $1 AND door_id = $2 AND revoked_at IS NULL
                        """,
                    binds: PostgresBindings(tenant.rawValue, id)
                ),
                logger: logger
            ).decode(Int.self) where stations > 0 {
                throw DeviceStoreError.inUse(detail: "the door still has \(stations) door station(s): revoke them first")
            }
            for statement in [
                // A station belongs to its door: revoked ones (no secrets left) go with it.
                "DELETE FROM \(self.schema).devices WHERE tenant_id = $1 AND door_id = $2 AND revoked_at IS NOT NULL",
                "DELETE FROM \(self.schema).doors WHERE tenant_id = $1 AND id = $2",
            ] {
                try await connection.query(PostgresQuery(unsafeSQL: statement, binds: PostgresBindings(tenant.rawValue, id)), logger: logger)
            }
            try await self.announce(Deleted.self, door, tenant: tenant, on: connection, logger: logger)
            return true
        }
    }

    /// The site's doors in name order, after the name `after` when given (at most `limit`, ≤ 501).
    package func doors(tenant: TenantID, site: UUID, after: String? = nil, limit: Int = 500, logger: Logger) async throws -> [Door] {
        var binds = PostgresBindings(tenant.rawValue, site)
        if let after { binds.append(after) } else { binds.appendNull() }
        var doors: [Door] = []
        for try await (id, site, building, name, kind, version) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT id, site_id, building_id, name, kind, version FROM \(self.schema).doors
                    WHERE tenant_id = $1 AND site_id = $2 AND ($3::text IS NULL OR name > $3)
                    ORDER BY name LIMIT \(max(1, min(limit, 501)))
                    """,
                binds: binds
            ),
            logger: logger
        ).decode((UUID, UUID, UUID?, String, String, Int).self) {
            doors.append(Door(id: id, siteId: site, buildingId: building, name: name, kind: Door.Kind(rawValue: kind) ?? .door, version: version))
        }
        return doors
    }

    // MARK: Devices

    static let columns = """
        id, tenant_id, site_id, kind, name, vendor, model, door_id, unit_id, person_id, sip_username, sip_realm, control_url,
        online, last_seen_at, revoked_at, version, created_at
        """

    static func device(_ row: PostgresRow) throws -> Device {
        let columns = row.makeRandomAccess()
        return Device(
            id: try columns[0].decode(UUID.self),
            tenant: TenantID(try columns[1].decode(UUID.self)),
            siteId: try columns[2].decode(UUID.self),
            kind: DeviceKind(rawValue: try columns[3].decode(String.self)) ?? .sipPhone,
            name: try columns[4].decode(String.self),
            vendor: try columns[5].decode(String?.self),
            model: try columns[6].decode(String?.self),
            doorId: try columns[7].decode(UUID?.self),
            unitId: try columns[8].decode(UUID?.self),
            personId: try columns[9].decode(UUID?.self),
            sipUsername: try columns[10].decode(String.self),
            sipRealm: try columns[11].decode(String.self),
            controlURL: try columns[12].decode(String?.self),
            online: try columns[13].decode(Bool.self),
            lastSeenAt: try columns[14].decode(Date?.self),
            revokedAt: try columns[15].decode(Date?.self),
            version: try columns[16].decode(Int.self),
            createdAt: try columns[17].decode(Date.self)
        )
    }

    /// Creates the device with fresh SIP credentials; the password is returned here and never again.
    package func create(tenant: TenantID, _ input: DeviceInput, password: String = Self.generatePassword(), logger: Logger) async throws -> (
        Device, SIPCredentials
    ) {
        do {
            return try await self.client.withTransaction(logger: logger) { connection in
                // The realm is the site's SIP domain; the door, unit and person must be of the site.
                var realm: String?
                for try await domain in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT sip_domain FROM \(self.schema).sites WHERE tenant_id = $1 AND id = $2",
                        binds: PostgresBindings(tenant.rawValue, input.siteId)
                    ),
                    logger: logger
                ).decode(String.self) {
                    realm = domain
                }
                guard let realm else { throw DeviceStoreError.unknownReference(field: "siteId") }
                for (field, table, id) in [("doorId", "doors", input.doorId), ("unitId", "units", input.unitId)] {
                    guard let id else { continue }
                    var found = false
                    for try await _ in try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "SELECT 1 FROM \(self.schema).\(table) WHERE tenant_id = $1 AND site_id = $2 AND id = $3",
                            binds: PostgresBindings(tenant.rawValue, input.siteId, id)
                        ),
                        logger: logger
                    ) {
                        found = true
                    }
                    if !found { throw DeviceStoreError.unknownReference(field: field) }
                }
                if let person = input.personId {
                    var found = false
                    for try await _ in try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "SELECT 1 FROM \(self.schema).people WHERE tenant_id = $1 AND id = $2 AND erased_at IS NULL",
                            binds: PostgresBindings(tenant.rawValue, person)
                        ),
                        logger: logger
                    ) {
                        found = true
                    }
                    if !found { throw DeviceStoreError.unknownReference(field: "personId") }
                }
                let username = input.sipUsername ?? Self.generateUsername(input.kind)
                var binds = PostgresBindings(capacity: 14)
                binds.append(UUID())
                binds.append(tenant.rawValue)
                binds.append(input.siteId)
                binds.append(input.kind.rawValue)
                binds.append(input.name)
                for value in [input.vendor, input.model] {
                    if let value { binds.append(value) } else { binds.appendNull() }
                }
                for value in [input.doorId, input.unitId, input.personId] {
                    if let value { binds.append(value) } else { binds.appendNull() }
                }
                binds.append(username)
                binds.append(realm)
                binds.append(ByteBuffer(bytes: Hex.decode(SIPDigest.ha1(username: username, realm: realm, password: password, .md5)) ?? []))
                binds.append(ByteBuffer(bytes: Hex.decode(SIPDigest.ha1(username: username, realm: realm, password: password, .sha256)) ?? []))
                if let url = input.controlURL { binds.append(url) } else { binds.appendNull() }
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).devices (id, tenant_id, site_id, kind, name, vendor, model, door_id, unit_id, person_id,
                                sip_username, sip_realm, ha1_md5, ha1_sha256, control_url)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                            RETURNING \(Self.columns)
                            """,
                        binds: binds
                    ),
                    logger: logger
                ) {
                    let device = try Self.device(row)
                    try await self.announce(DeviceCreated(device.info), device, on: connection, logger: logger)
                    return (device, SIPCredentials(username: username, realm: realm, password: password))
                }
                throw StoreInvariantViolated(message: "insert of device returned no row")
            }
        } catch let error as PostgresTransactionError {
            if let closure = error.closureError {
                if let psql = closure as? PSQLError, psql.serverInfo?[.sqlState] == "23505" { throw DeviceStoreError.sipUsernameTaken }
                throw closure
            }
            throw error
        }
    }

    /// Creates the device named by `input.sipUsername` at the site, or gives the existing one of
    /// the tenant this password (for seeds and provisioning scripts that keep their own secrets).
    package func provision(tenant: TenantID, _ input: DeviceInput, password: String, logger: Logger) async throws -> Device {
        guard let username = input.sipUsername else { throw DeviceStoreError.unknownReference(field: "sipUsername") }
        var existing: UUID?
        for try await id in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT d.id FROM \(self.schema).devices d JOIN \(self.schema).sites s ON s.tenant_id = d.tenant_id AND s.id = d.site_id
                    WHERE d.tenant_id = $1 AND d.site_id = $2 AND d.sip_username = $3 AND d.sip_realm = s.sip_domain AND d.revoked_at IS NULL
                    """,
                binds: PostgresBindings(tenant.rawValue, input.siteId, username)
            ),
            logger: logger
        ).decode(UUID.self) {
            existing = id
        }
        if let existing { return try await self.rotatePassword(tenant: tenant, id: existing, password: password, logger: logger).0 }
        return try await self.create(tenant: tenant, input, password: password, logger: logger).0
    }

    package func get(tenant: TenantID, id: UUID, logger: Logger) async throws -> Device? {
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM \(self.schema).devices WHERE tenant_id = $1 AND id = $2",
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ) {
            return try Self.device(row)
        }
        return nil
    }

    /// A page in id order after `after`, optionally of one site or kind.
    package func list(tenant: TenantID, site: UUID?, kind: DeviceKind?, after: UUID?, limit: Int, logger: Logger) async throws -> [Device] {
        var binds = PostgresBindings(tenant.rawValue)
        var conditions = ["tenant_id = $1"]
        if let site {
            binds.append(site)
            conditions.append("site_id = $\(binds.count)")
        }
        if let kind {
            binds.append(kind.rawValue)
            conditions.append("kind = $\(binds.count)")
        }
        if let after {
            binds.append(after)
            conditions.append("id > $\(binds.count)")
        }
        var devices: [Device] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM \(self.schema).devices WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY id LIMIT \(max(1, min(limit, 501)))
                    """,
                binds: binds
            ),
            logger: logger
        ) {
            devices.append(try Self.device(row))
        }
        return devices
    }

    /// New SIP password for a device that is not revoked; the old one stops working at once.
    package func rotatePassword(tenant: TenantID, id: UUID, password: String = Self.generatePassword(), logger: Logger) async throws -> (
        Device, SIPCredentials
    ) {
        guard let device = try await self.get(tenant: tenant, id: id, logger: logger), device.revokedAt == nil else {
            throw DeviceStoreError.notFound
        }
        let md5 = Hex.decode(SIPDigest.ha1(username: device.sipUsername, realm: device.sipRealm, password: password, .md5)) ?? []
        let sha = Hex.decode(SIPDigest.ha1(username: device.sipUsername, realm: device.sipRealm, password: password, .sha256)) ?? []
        let updated: Device? = try await self.client.transaction(logger: logger) { connection in
            for try await row in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(self.schema).devices SET ha1_md5 = $3, ha1_sha256 = $4, version = version + 1, updated_at = now()
                        WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING \(Self.columns)
                        """,
                    binds: PostgresBindings(tenant.rawValue, id, ByteBuffer(bytes: md5), ByteBuffer(bytes: sha))
                ),
                logger: logger
            ) {
                let updated = try Self.device(row)
                try await self.announce(DeviceUpdated(updated.info), updated, on: connection, logger: logger)
                return updated
            }
            return nil
        }
        guard let updated else { throw DeviceStoreError.notFound }
        return (updated, SIPCredentials(username: device.sipUsername, realm: device.sipRealm, password: password))
    }

    /// Revokes the device: its SIP secrets are deleted, the row stays (idempotent).
    package func revoke(tenant: TenantID, id: UUID, logger: Logger) async throws -> Device? {
        let revoked = try await self.client.transaction(logger: logger) { connection in
            try await self.revokeDevices(tenant: tenant, condition: "id = $2", PostgresBindings(tenant.rawValue, id), on: connection, logger: logger)
        }
        if let device = revoked.first { return device }
        return try await self.get(tenant: tenant, id: id, logger: logger)  // revoked before, or none
    }

    /// Revokes the tenant's devices matching `condition` that are not revoked yet, announcing each
    /// (`identity.device_revoked`) on `connection`, inside the caller's transaction.
    package func revokeDevices(
        tenant: TenantID,
        condition: String,
        _ binds: PostgresBindings,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [Device] {
        var revoked: [Device] = []
        for try await row in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).devices SET ha1_md5 = NULL, ha1_sha256 = NULL, online = false,
                        revoked_at = now(), version = version + 1, updated_at = now()
                    WHERE tenant_id = $1 AND \(condition) AND revoked_at IS NULL RETURNING \(Self.columns)
                    """,
                binds: binds
            ),
            logger: logger
        ) {
            revoked.append(try Self.device(row))
        }
        for device in revoked {
            try await self.announce(DeviceRevoked(device.info), device, on: connection, logger: logger)
        }
        return revoked
    }

    func announce<Change: IdentityChangeKind>(
        _ event: IdentityChanged<DeviceInfo, Change>,
        _ device: Device,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await self.outbox.enqueue(
            event,
            tenant: device.tenant,
            subject: "device/\(device.id.lowercasedString)",
            context: EventContext(site: device.siteId, door: device.doorId, unit: device.unitId, person: device.personId),
            on: connection,
            logger: logger
        )
    }

    // MARK: Lookups for signaling

    /// The digest secrets of `username@realm`; `nil` for an unknown or revoked account.
    package func sipAccount(realm: String, username: String, logger: Logger) async throws -> SIPAccount? {
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT tenant_id, site_id, id, kind, sip_username, sip_realm, ha1_md5, ha1_sha256, door_id, unit_id, person_id
                    FROM \(self.schema).devices WHERE sip_realm = $1 AND sip_username = $2 AND revoked_at IS NULL
                    """,
                binds: PostgresBindings(realm.lowercased(), username)
            ),
            logger: logger
        ) {
            let (tenant, site, id, kind, user, realm, md5, sha, door, unit, person) = try row.decode(
                (UUID, UUID, UUID, String, String, String, ByteBuffer, ByteBuffer, UUID?, UUID?, UUID?).self
            )
            return SIPAccount(
                tenantId: TenantID(tenant),
                siteId: site,
                deviceId: id,
                kind: DeviceKind(rawValue: kind) ?? .sipPhone,
                username: user,
                realm: realm,
                ha1MD5: Hex.encode(md5.readableBytesView),
                ha1SHA256: Hex.encode(sha.readableBytesView),
                doorId: door,
                unitId: unit,
                personId: person
            )
        }
        return nil
    }

    /// The ring plan of `dialled` at the site whose SIP domain is `sipDomain`: the unit's residents'
    /// devices, then the building's fallbacks, then the site's, each in position order. Staff steps
    /// whose person has no device are left out. `nil` when the domain or number is unknown.
    package func dialPlan(sipDomain: String, dialled: String, logger: Logger) async throws -> DialPlan? {
        // One round trip: `dial_plan` (migration 0008) finds the unit, then one row per target in
        // step order (rank 0 the unit, 1 the building's fallbacks, 2 the site's), or one row
        // without a step when nothing rings.
        var plan: DialPlan?
        var current: (rank: Int, position: Int)?
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT * FROM \(self.schema).dial_plan($1, $2)",
                binds: PostgresBindings(sipDomain.lowercased(), dialled)
            ),
            logger: logger
        ) {
            let cells = row.makeRandomAccess()
            if plan == nil {
                plan = DialPlan(
                    tenantId: TenantID(try cells[0].decode(UUID.self)),
                    siteId: try cells[1].decode(UUID.self),
                    buildingId: try cells[4].decode(UUID.self),
                    unitId: try cells[3].decode(UUID.self),
                    dialNumber: try cells[5].decode(String.self),
                    timeZone: try cells[2].decode(String.self),
                    steps: []
                )
            }
            guard let rank = try cells[6].decode(Int?.self), let position = try cells[7].decode(Int?.self),
                let ring = try cells[8].decode(Int?.self), let kind = try cells[9].decode(String?.self)
            else { continue }
            let device = try cells[10].decode(UUID?.self)
            let stepKind = RingStep.Kind(rawValue: kind) ?? .external
            let hours = try cells[14].decode(String?.self).flatMap(RingStep.Hours.init(rawValue:))
            if stepKind != .external && device == nil { continue }  // staff without a device
            let target =
                stepKind == .external
                ? RingTarget(number: try cells[13].decode(String?.self))
                : RingTarget(deviceId: device, sipUsername: try cells[11].decode(String?.self), personId: try cells[12].decode(UUID?.self))
            if let current, current == (rank, position), let last = plan?.steps.indices.last {
                plan?.steps[last].targets.append(target)
            } else {
                plan?.steps.append(RingStep(kind: stepKind, ringSeconds: ring, targets: [target], hours: hours))
                current = (rank, position)
            }
        }
        return plan
    }

    /// A fallback step of a site (or of one of its buildings).
    package struct Fallback: Sendable, Hashable {
        package var position: Int
        package var staff: UUID?
        package var number: String?
        package var ringSeconds: Int
        /// When it rings against the site's call hours (decision 0021).
        package var hours: RingStep.Hours

        package init(position: Int, staff: UUID? = nil, number: String? = nil, ringSeconds: Int = 20, hours: RingStep.Hours = .always) {
            self.position = position
            self.staff = staff
            self.number = number
            self.ringSeconds = ringSeconds
            self.hours = hours
        }
    }

    /// Replaces the fallbacks of the site (`building == nil`) or of one building.
    package func setFallbacks(tenant: TenantID, site: UUID, building: UUID?, _ fallbacks: [Fallback], logger: Logger) async throws {
        do {
            try await self.client.withTransaction(logger: logger) { connection in
                var binds = PostgresBindings(tenant.rawValue, site)
                if let building { binds.append(building) } else { binds.appendNull() }
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            DELETE FROM \(self.schema).ring_fallbacks
                            WHERE tenant_id = $1 AND site_id = $2 AND building_id IS NOT DISTINCT FROM $3::uuid
                            """,
                        binds: binds
                    ),
                    logger: logger
                )
                for fallback in fallbacks {
                    var binds = PostgresBindings(UUID(), tenant.rawValue, site)
                    if let building { binds.append(building) } else { binds.appendNull() }
                    binds.append(fallback.position)
                    binds.append(fallback.staff == nil ? "external" : "staff")
                    if let staff = fallback.staff { binds.append(staff) } else { binds.appendNull() }
                    if let number = fallback.number { binds.append(number) } else { binds.appendNull() }
                    binds.append(fallback.ringSeconds)
                    binds.append(fallback.hours.rawValue)
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                INSERT INTO \(self.schema).ring_fallbacks
                                    (id, tenant_id, site_id, building_id, position, kind, person_id, number, ring_seconds, hours)
                                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                                """,
                            binds: binds
                        ),
                        logger: logger
                    )
                }
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }
}
