import Crypto
package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// A person of a tenant: resident, staff or guest.
package struct Person: Sendable, Hashable, Codable {
    package enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case resident, staff, guest
    }

    package var id: UUID
    package var kind: Kind
    package var displayName: String
    package var email: String?
    package var phone: String?
    /// For staff: `tenant-admin`, `property-manager` or `staff` (the role their logins carry).
    package var staffRole: String?
    /// For staff: the sites (a property manager's) and buildings (concierge, security,
    /// maintenance) their logins reach; empty for everyone else.
    package var siteIds: [UUID] = []
    package var buildingIds: [UUID] = []
    /// For a guest a resident or staff member invited: who, and when the guest's record ends (it is
    /// erased then, ``GuestExpiry``).
    package var hostPersonId: UUID? = nil
    package var expiresAt: Date? = nil
    /// Set once the person's personal data was erased.
    package var erasedAt: Date?
    /// Increases with every change; the HTTP `ETag` is `"v<version>"`.
    package var version: Int
    package var createdAt: Date
    package var updatedAt: Date
}

/// The fields a client may set, validated.
package struct PersonInput: Sendable, Hashable {
    package var kind: Person.Kind
    package var displayName: String
    package var email: String?
    package var phone: String?
    package var staffRole: String?
    /// A staff member's sites and buildings (ignored for others).
    package var siteIds: [UUID]
    package var buildingIds: [UUID]

    /// The roles staff may hold.
    package static let staffRoles = ["tenant-admin", "property-manager", "staff"]
    /// Most sites or buildings one staff member has.
    package static let maxPlaces = 100

    package init(
        kind: Person.Kind,
        displayName: String,
        email: String? = nil,
        phone: String? = nil,
        staffRole: String? = nil,
        siteIds: [UUID] = [],
        buildingIds: [UUID] = []
    ) {
        self.kind = kind
        self.displayName = displayName
        self.email = email
        self.phone = phone
        self.staffRole = staffRole
        self.siteIds = siteIds
        self.buildingIds = buildingIds
    }

    /// Limits (docs/operations.md).
    package static let maxNameLength = 200
    package static let maxEmailLength = 254
    package static let maxPhoneLength = 32

    /// Every problem with the fields, by name; empty when valid.
    package static func problems(displayName: String?, email: String?, phone: String?) -> [(field: String, message: String)] {
        var problems: [(String, String)] = []
        if let displayName {
            let trimmed = displayName.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.unicodeScalars.count > Self.maxNameLength {
                problems.append(("displayName", "must be 1…\(Self.maxNameLength) characters"))
            } else if trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                problems.append(("displayName", "must not contain control characters"))
            }
        }
        if let email {
            let parts = email.split(separator: "@", omittingEmptySubsequences: false)
            if email.utf8.count > Self.maxEmailLength || parts.count != 2 || parts[0].isEmpty || !parts[1].contains(".")
                || email.contains(where: { $0.isWhitespace || $0.isNewline }) || email.containsControlCharacters || parts[1].hasPrefix(".")
                || parts[1].hasSuffix(".")
            {
                problems.append(("email", "must be an e-mail address of at most \(Self.maxEmailLength) bytes"))
            }
        }
        if let phone {
            let allowed = Set("+0123456789 ()-./")
            if phone.isEmpty || phone.count > Self.maxPhoneLength || !phone.allSatisfy({ allowed.contains($0) })
                || phone.filter(\.isNumber).count < 3
            {
                problems.append(("phone", "must be a phone number of at most \(Self.maxPhoneLength) characters (digits, spaces, + ( ) - . /)"))
            }
        }
        return problems
    }
}

/// A person's place in a unit.
package struct Residence: Sendable, Hashable, Codable {
    package var unitId: String
    package var dialNumber: String
    package var buildingId: String
    package var siteId: String
    package var role: String
}

/// Why a write did not happen.
package enum PeopleStoreError: Error, Hashable {
    case notFound
    case versionMismatch(current: Int)
    case emailTaken
    case erased
    /// A site or building named in `field` (`siteIds`, `buildingIds`) is not the tenant's.
    case unknownPlace(field: String)
    /// The host is not a live resident or staff member of the tenant.
    case noSuchHost
    /// The host has ``PeopleStore/maxGuestsPerHost`` live guests.
    case tooManyGuests
}

/// People in the identity schema; every query is scoped to the tenant.
package struct PeopleStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter

    package init(client: PostgresClient, schema: String = IdentityService.schema, outbox: OutboxWriter? = nil) {
        self.client = client
        self.schema = schema
        self.outbox = outbox ?? IdentityService.outbox(schema: schema)
    }

    func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ person: Person,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await self.announce(
            change,
            PersonDocument(id: person.id, kind: person.kind.rawValue, staffRole: person.staffRole, version: person.version),
            tenant: tenant,
            on: connection,
            logger: logger
        )
    }

    func announce<Change: IdentityChangeKind>(
        _ change: Change.Type,
        _ document: PersonDocument,
        tenant: TenantID,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await self.outbox.enqueue(
            IdentityChanged<PersonDocument, Change>(document),
            tenant: tenant,
            subject: "person/\(document.id.lowercasedString)",
            context: EventContext(person: document.id),
            on: connection,
            logger: logger
        )
    }

    /// `values`, then the e-mail, phone and staff role (NULL when absent), the staff's sites and
    /// buildings (empty for others), then `trailing`.
    static func bindings(_ values: [any PostgresDynamicTypeEncodable], _ input: PersonInput, _ trailing: Int? = nil) -> PostgresBindings {
        var binds = PostgresBindings(capacity: values.count + 6)
        for value in values { binds.append(value) }
        let staff = input.kind == .staff
        for text in [input.email, input.phone, staff ? input.staffRole : nil] {
            if let text { binds.append(text) } else { binds.appendNull() }
        }
        binds.append(staff ? input.siteIds : [])
        binds.append(staff ? input.buildingIds : [])
        if let trailing { binds.append(trailing) }
        return binds
    }

    static let columns = """
        id, kind, display_name, email, phone, staff_role, erased_at, version, created_at, updated_at, site_ids, building_ids, \
        host_person_id, expires_at
        """

    static func person(_ row: PostgresRow) throws -> Person {
        let (id, kind, name, email, phone, staffRole, erasedAt, version, created, updated, sites, buildings, host, expires) = try row.decode(
            (UUID, String, String, String?, String?, String?, Date?, Int, Date, Date, [UUID], [UUID], UUID?, Date?).self
        )
        return Person(
            id: id,
            kind: Person.Kind(rawValue: kind) ?? .resident,
            displayName: name,
            email: email,
            phone: phone,
            staffRole: staffRole,
            siteIds: sites,
            buildingIds: buildings,
            hostPersonId: host,
            expiresAt: expires,
            erasedAt: erasedAt,
            version: version,
            createdAt: created,
            updatedAt: updated
        )
    }

    /// A page in id order after `after`, optionally of one kind.
    package func list(tenant: TenantID, kind: Person.Kind?, after: UUID?, limit: Int, logger: Logger) async throws -> [Person] {
        var binds = PostgresBindings(tenant.rawValue)
        var conditions = ["tenant_id = $1"]
        if let kind {
            binds.append(kind.rawValue)
            conditions.append("kind = $\(binds.count)")
        }
        if let after {
            binds.append(after)
            conditions.append("id > $\(binds.count)")
        }
        var people: [Person] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM \(self.schema).people WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY id LIMIT \(max(1, min(limit, 501)))
                    """,
                binds: binds
            ),
            logger: logger
        ) {
            people.append(try Self.person(row))
        }
        return people
    }

    package func get(tenant: TenantID, id: UUID, logger: Logger) async throws -> Person? {
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM \(self.schema).people WHERE tenant_id = $1 AND id = $2",
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ) {
            return try Self.person(row)
        }
        return nil
    }

    package func create(tenant: TenantID, _ input: PersonInput, logger: Logger) async throws -> Person {
        do {
            let created: Person? = try await self.client.transaction(logger: logger) { connection in
                var created: Person?
                try await self.checkPlaces(input, tenant: tenant, on: connection, logger: logger)
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).people (id, tenant_id, kind, display_name, email, phone, staff_role, site_ids, building_ids)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING \(Self.columns)
                            """,
                        binds: Self.bindings([UUID(), tenant.rawValue, input.kind.rawValue, input.displayName], input)
                    ),
                    logger: logger
                ) {
                    created = try Self.person(row)
                }
                if let created { try await self.announce(Created.self, created, tenant: tenant, on: connection, logger: logger) }
                return created
            }
            if let created { return created }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw PeopleStoreError.emailTaken
        }
        throw StoreInvariantViolated(message: "insert of a person returned no row")
    }

    /// Applies `change` when the stored version is `expectedVersion`.
    package func update(
        tenant: TenantID,
        id: UUID,
        expectedVersion: Int,
        change: @Sendable (inout PersonInput) -> Void,
        logger: Logger
    ) async throws -> Person {
        guard let current = try await self.get(tenant: tenant, id: id, logger: logger) else { throw PeopleStoreError.notFound }
        guard current.erasedAt == nil else { throw PeopleStoreError.erased }
        guard current.version == expectedVersion else { throw PeopleStoreError.versionMismatch(current: current.version) }
        var input = PersonInput(
            kind: current.kind,
            displayName: current.displayName,
            email: current.email,
            phone: current.phone,
            staffRole: current.staffRole,
            siteIds: current.siteIds,
            buildingIds: current.buildingIds
        )
        change(&input)
        do {
            let updated: Person? = try await self.client.transaction(logger: logger) { connection in
                var updated: Person?
                try await self.checkPlaces(input, tenant: tenant, on: connection, logger: logger)
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            UPDATE \(self.schema).people SET kind = $3, display_name = $4, email = $5, phone = $6, staff_role = $7,
                                site_ids = $8, building_ids = $9, version = version + 1, updated_at = now()
                            WHERE tenant_id = $1 AND id = $2 AND version = $10 AND erased_at IS NULL
                            RETURNING \(Self.columns)
                            """,
                        binds: Self.bindings([tenant.rawValue, id, input.kind.rawValue, input.displayName], input, expectedVersion)
                    ),
                    logger: logger
                ) {
                    updated = try Self.person(row)
                }
                if let updated { try await self.announce(Updated.self, updated, tenant: tenant, on: connection, logger: logger) }
                return updated
            }
            if let updated { return updated }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw PeopleStoreError.emailTaken
        }
        // Changed between the read and the write.
        let latest = try await self.get(tenant: tenant, id: id, logger: logger)
        throw PeopleStoreError.versionMismatch(current: latest?.version ?? expectedVersion)
    }

    // MARK: Guests

    /// Live guests one host may have at once.
    package static let maxGuestsPerHost = 50
    /// The longest a guest's record lives.
    package static let maxGuestLifetime: TimeInterval = 30 * 24 * 3600

    /// A guest invited by `host` (a live resident or staff member of the tenant) until `expiresAt`;
    /// announced like any new person (`person_created`).
    package func createGuest(tenant: TenantID, host: UUID, _ input: PersonInput, expiresAt: Date, logger: Logger) async throws -> Person {
        do {
            return try await self.client.transaction(logger: logger) { connection in
                var live: Int?
                for try await count in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT (SELECT count(*)::int FROM \(self.schema).people g
                                    WHERE g.tenant_id = $1 AND g.host_person_id = $2 AND g.erased_at IS NULL)
                            FROM \(self.schema).people h
                            WHERE h.tenant_id = $1 AND h.id = $2 AND h.erased_at IS NULL AND h.kind IN ('resident', 'staff') FOR KEY SHARE
                            """,
                        binds: PostgresBindings(tenant.rawValue, host)
                    ),
                    logger: logger
                ).decode(Int.self) {
                    live = count
                }
                guard let live else { throw PeopleStoreError.noSuchHost }
                guard live < Self.maxGuestsPerHost else { throw PeopleStoreError.tooManyGuests }
                var binds = Self.bindings([UUID(), tenant.rawValue, Person.Kind.guest.rawValue, input.displayName], input)
                binds.append(host)
                binds.append(expiresAt)
                var created: Person?
                for try await row in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO \(self.schema).people
                                (id, tenant_id, kind, display_name, email, phone, staff_role, site_ids, building_ids, host_person_id, expires_at)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING \(Self.columns)
                            """,
                        binds: binds
                    ),
                    logger: logger
                ) {
                    created = try Self.person(row)
                }
                guard let created else { throw StoreInvariantViolated(message: "insert of a guest returned no row") }
                try await self.announce(Created.self, created, tenant: tenant, on: connection, logger: logger)
                return created
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw PeopleStoreError.emailTaken
        }
    }

    /// The host's live guests, newest first.
    package func guests(tenant: TenantID, host: UUID, logger: Logger) async throws -> [Person] {
        var guests: [Person] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(Self.columns) FROM \(self.schema).people
                    WHERE tenant_id = $1 AND host_person_id = $2 AND erased_at IS NULL ORDER BY created_at DESC, id LIMIT \(Self.maxGuestsPerHost)
                    """,
                binds: PostgresBindings(tenant.rawValue, host)
            ),
            logger: logger
        ) {
            guests.append(try Self.person(row))
        }
        return guests
    }

    /// Guests whose record ended before `instant` and are not erased yet, oldest first (at most `limit`).
    package func expiredGuests(before instant: Date, limit: Int, logger: Logger) async throws -> [(tenant: TenantID, person: UUID)] {
        var expired: [(TenantID, UUID)] = []
        for try await (tenant, person) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT tenant_id, id FROM \(self.schema).people
                    WHERE expires_at < $1 AND erased_at IS NULL ORDER BY expires_at LIMIT $2
                    """,
                binds: PostgresBindings(instant, limit)
            ),
            logger: logger
        ).decode((UUID, UUID).self) {
            expired.append((TenantID(tenant), person))
        }
        return expired
    }

    /// Refuses sites and buildings of a staff member's that the tenant does not have. The rows are
    /// key-share locked, so a concurrent deletion of one waits for this transaction (and then takes
    /// it out of the person's places) instead of leaving a dangling id.
    func checkPlaces(_ input: PersonInput, tenant: TenantID, on connection: PostgresConnection, logger: Logger) async throws {
        guard input.kind == .staff else { return }
        for (field, table, ids) in [("siteIds", "sites", input.siteIds), ("buildingIds", "buildings", input.buildingIds)] where !ids.isEmpty {
            for try await found in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT count(*)::int FROM (SELECT 1 FROM \(self.schema).\(table) WHERE tenant_id = $1 AND id = ANY($2) FOR KEY SHARE) t
                        """,
                    binds: PostgresBindings(tenant.rawValue, ids)
                ),
                logger: logger
            ).decode(Int.self) where found != Set(ids).count {
                throw PeopleStoreError.unknownPlace(field: field)
            }
        }
    }

    /// Erases the person's personal data (name, e-mail, phone, residences) in one transaction; the
    /// id stays. Returns the erased person, also when they were erased before (idempotent).
    package func erase(tenant: TenantID, id: UUID, logger: Logger) async throws -> Person {
        do {
            return try await self.eraseInTransaction(tenant: tenant, id: id, logger: logger)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    /// The person and the guests they invited (a host's guests are their own contacts: they go with
    /// them), in one transaction.
    private func eraseInTransaction(tenant: TenantID, id: UUID, logger: Logger) async throws -> Person {
        try await self.client.withTransaction(logger: logger) { connection in
            let erased = try await self.eraseOne(tenant: tenant, id: id, on: connection, logger: logger)
            var guests: [UUID] = []
            for try await guest in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT id FROM \(self.schema).people WHERE tenant_id = $1 AND host_person_id = $2 AND erased_at IS NULL",
                    binds: PostgresBindings(tenant.rawValue, id)
                ),
                logger: logger
            ).decode(UUID.self) {
                guests.append(guest)
            }
            for guest in guests { _ = try await self.eraseOne(tenant: tenant, id: guest, on: connection, logger: logger) }
            return erased
        }
    }

    private func eraseOne(tenant: TenantID, id: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Person {
        try await connection.query(
            PostgresQuery(
                unsafeSQL: "DELETE FROM \(self.schema).unit_residents WHERE tenant_id = $1 AND person_id = $2",
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        )
        try await connection.query(
            PostgresQuery(
                unsafeSQL:
                    "UPDATE \(self.schema).refresh_tokens SET revoked_at = now() WHERE tenant_id = $1 AND person_id = $2 AND revoked_at IS NULL",
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        )
        // Their devices lose their SIP secrets (the rows stay: records elsewhere name them).
        _ = try await DeviceStore(client: self.client, schema: self.schema, outbox: self.outbox).revokeDevices(
            tenant: tenant,
            condition: "person_id = $2",
            PostgresBindings(tenant.rawValue, id),
            on: connection,
            logger: logger
        )
        var erased: Person?
        for try await row in try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).people SET display_name = 'Erased person', email = NULL, phone = NULL,
                        password_hash = NULL, staff_role = NULL, site_ids = '{}', building_ids = '{}', sessions_valid_after = date_trunc('second', now()),
                        erased_at = COALESCE(erased_at, now()), version = version + CASE WHEN erased_at IS NULL THEN 1 ELSE 0 END,
                        updated_at = now()
                    WHERE tenant_id = $1 AND id = $2 RETURNING \(Self.columns)
                    """,
                binds: PostgresBindings(tenant.rawValue, id)
            ),
            logger: logger
        ) {
            erased = try Self.person(row)
        }
        guard let erased else { throw PeopleStoreError.notFound }
        // With an id that is the same on every retry, so JetStream and the audit log keep it once.
        try await self.outbox.enqueue(
            PersonErased(personId: erased.id, erasedAt: erased.erasedAt ?? Date()),
            tenant: tenant,
            subject: "person/\(erased.id.lowercasedString)",
            id: Self.erasureEventID(tenant: tenant, person: erased.id),
            context: EventContext(person: erased.id),
            on: connection,
            logger: logger
        )
        return erased
    }

    /// A person's units (for their data export): unit, dial number, building, site and role.
    package func residences(tenant: TenantID, person: UUID, logger: Logger) async throws -> [Residence] {
        var residences: [Residence] = []
        for try await (unit, dial, building, site, role) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT u.id, u.dial_number, u.building_id, u.site_id, r.role FROM \(self.schema).unit_residents r
                    JOIN \(self.schema).units u ON u.tenant_id = r.tenant_id AND u.id = r.unit_id
                    WHERE r.tenant_id = $1 AND r.person_id = $2 ORDER BY u.dial_number
                    """,
                binds: PostgresBindings(tenant.rawValue, person)
            ),
            logger: logger
        ).decode((UUID, String, UUID, UUID, String).self) {
            residences.append(
                Residence(
                    unitId: unit.lowercasedString,
                    dialNumber: dial,
                    buildingId: building.lowercasedString,
                    siteId: site.lowercasedString,
                    role: role
                )
            )
        }
        return residences
    }

    /// The id of the erasure event for a person: the same on every retry, so the event is stored once.
    package static func erasureEventID(tenant: TenantID, person: UUID) -> UUID {
        var bytes = Array(SHA256.hash(data: Array("identity.person_erased|\(tenant)|\(person.lowercasedString)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5 layout (name-based)
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            )
        )
    }
}
