import Crypto
package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// How access control drives a door: which of its stations, which relay, the station's HTTP API
/// credentials (sealed at rest) and the command deadline. A door without a controller row is opened
/// through its first station with a control URL, relay 1, without credentials.
package struct DoorController: Sendable, Hashable {
    package var doorId: UUID
    /// The station to drive; `nil`: the door's first station with a control URL.
    package var stationDeviceId: UUID?
    package var relay: Int
    package var username: String?
    /// The station's HTTP API password or the webhook's secret, in the clear only in memory.
    package var secret: String?
    package var verifyTLS: Bool
    package var deadlineMilliseconds: Int?
    package var version: Int

    package init(
        doorId: UUID,
        stationDeviceId: UUID? = nil,
        relay: Int = 1,
        username: String? = nil,
        secret: String? = nil,
        verifyTLS: Bool = true,
        deadlineMilliseconds: Int? = nil,
        version: Int = 1
    ) {
        self.doorId = doorId
        self.stationDeviceId = stationDeviceId
        self.relay = relay
        self.username = username
        self.secret = secret
        self.verifyTLS = verifyTLS
        self.deadlineMilliseconds = deadlineMilliseconds
        self.version = version
    }

    /// Limits (docs/operations.md): relays 1…16, names and secrets up to 128 and 256 bytes.
    package static let relays = 1...16
    package static let maxUsernameBytes = 128
    package static let maxSecretBytes = 256
}

/// `access.door_controllers`: one row per configured door; secrets sealed with AES-GCM under
/// `access.secretKey`, bound to their tenant and door so a sealed value cannot be moved to another
/// row.
package struct DoorControllerStore: Sendable {
    let client: PostgresClient
    let schema: String
    let key: SymmetricKey

    package init(client: PostgresClient, schema: String = AccessService.schema, secretKey: [UInt8]) {
        self.client = client
        self.schema = schema
        self.key = SymmetricKey(data: secretKey)
    }

    static func binding(_ tenant: TenantID, _ door: UUID) -> [UInt8] { Array("\(tenant.rawValue.lowercasedString)/\(door.lowercasedString)".utf8) }

    func seal(_ secret: String, tenant: TenantID, door: UUID) throws -> [UInt8] {
        guard let combined = try AES.GCM.seal(Array(secret.utf8), using: self.key, authenticating: Self.binding(tenant, door)).combined else {
            throw GatehouseError.invalidConfiguration("AES-GCM did not produce a sealed box")
        }
        return Array(combined)
    }

    func open(_ sealed: [UInt8], tenant: TenantID, door: UUID) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return String(decoding: try AES.GCM.open(box, using: self.key, authenticating: Self.binding(tenant, door)), as: UTF8.self)
    }

    struct DoorKey: Hashable, Sendable {
        var tenant: TenantID
        var door: UUID
    }
    /// A door's controller is read at most once per ``lifetime``: a change through another access
    /// instance applies within it (through this one: at once).
    package static let lifetime = Duration.seconds(5)
    /// The cache keeps "no controller" too (an optional inside), so unconfigured doors cost no query.
    let cache = ExpiringCache<DoorKey, DoorController?>(lifetime: lifetime)

    package func get(tenant: TenantID, door: UUID, logger: Logger) async throws -> DoorController? {
        try await self.cache.value(DoorKey(tenant: tenant, door: door)) {
            .some(try await self.read(tenant: tenant, door: door, logger: logger))
        } ?? nil
    }

    func read(tenant: TenantID, door: UUID, logger: Logger) async throws -> DoorController? {
        for try await (station, relay, username, sealed, verify, deadline, version) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT station_device_id, relay, username, secret_sealed, verify_tls, deadline_ms, version
                    FROM \(self.schema).door_controllers WHERE tenant_id = $1 AND door_id = $2
                    """,
                binds: PostgresBindings(tenant.rawValue, door)
            ),
            logger: logger
        ).decode((UUID?, Int, String?, ByteBuffer?, Bool, Int?, Int).self) {
            return DoorController(
                doorId: door,
                stationDeviceId: station,
                relay: relay,
                username: username,
                secret: try sealed.map { try self.open(Array(buffer: $0), tenant: tenant, door: door) },
                verifyTLS: verify,
                deadlineMilliseconds: deadline,
                version: version
            )
        }
        return nil
    }

    /// Creates or replaces the door's controller; a `nil` secret keeps the one stored.
    package func put(tenant: TenantID, _ controller: DoorController, keepSecret: Bool, logger: Logger) async throws -> DoorController {
        self.cache.remove(DoorKey(tenant: tenant, door: controller.doorId))
        defer { self.cache.remove(DoorKey(tenant: tenant, door: controller.doorId)) }
        var binds = PostgresBindings(capacity: 9)
        binds.append(tenant.rawValue)
        binds.append(controller.doorId)
        if let station = controller.stationDeviceId { binds.append(station) } else { binds.appendNull() }
        binds.append(controller.relay)
        if let username = controller.username { binds.append(username) } else { binds.appendNull() }
        if let secret = controller.secret {
            binds.append(ByteBuffer(bytes: try self.seal(secret, tenant: tenant, door: controller.doorId)))
        } else {
            binds.appendNull()
        }
        binds.append(controller.verifyTLS)
        if let deadline = controller.deadlineMilliseconds { binds.append(deadline) } else { binds.appendNull() }
        binds.append(keepSecret)
        for try await version in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(self.schema).door_controllers
                        (tenant_id, door_id, station_device_id, relay, username, secret_sealed, verify_tls, deadline_ms)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    ON CONFLICT (tenant_id, door_id) DO UPDATE SET
                        station_device_id = EXCLUDED.station_device_id, relay = EXCLUDED.relay, username = EXCLUDED.username,
                        secret_sealed = CASE WHEN $9 THEN door_controllers.secret_sealed ELSE EXCLUDED.secret_sealed END,
                        verify_tls = EXCLUDED.verify_tls, deadline_ms = EXCLUDED.deadline_ms,
                        version = door_controllers.version + 1, updated_at = now()
                    RETURNING version
                    """,
                binds: binds
            ),
            logger: logger
        ).decode(Int.self) {
            // Read back: a kept secret is only in the row.
            if keepSecret, let stored = try await self.read(tenant: tenant, door: controller.doorId, logger: logger), stored.version == version {
                return stored
            }
            var stored = controller
            stored.version = version
            return stored
        }
        throw GatehouseError.decodingFailed("the upsert returned no row")
    }

    /// Whether a controller was removed.
    package func delete(tenant: TenantID, door: UUID, logger: Logger) async throws -> Bool {
        defer { self.cache.remove(DoorKey(tenant: tenant, door: door)) }
        for try await _ in try await self.client.query(
            "DELETE FROM \(unescaped: self.schema).door_controllers WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door) RETURNING door_id",
            logger: logger
        ) {
            return true
        }
        return false
    }

    package static let migration = SQLMigration(
        "0002_door_controllers",
        [
            """
            CREATE TABLE {schema}.door_controllers (
                tenant_id UUID NOT NULL,
                door_id UUID NOT NULL,
                station_device_id UUID,
                relay INT NOT NULL DEFAULT 1 CHECK (relay BETWEEN 1 AND 16),
                username TEXT CHECK (length(username) BETWEEN 1 AND 128),
                secret_sealed BYTEA CHECK (length(secret_sealed) <= 512),
                verify_tls BOOLEAN NOT NULL DEFAULT true,
                deadline_ms INT CHECK (deadline_ms BETWEEN 200 AND 30000),
                version INT NOT NULL DEFAULT 1,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, door_id)
            )
            """
        ]
    )
}
