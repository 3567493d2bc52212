package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit

/// Access groups and their members, holiday calendars, door policies and door exceptions
/// (`access.access_groups`, `group_members`, `holidays`, `door_policies`, `door_exceptions`).
/// Every change is a `policy_changed` event written in the same transaction.
package struct PolicyStore: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter
    let settings: SiteSettingsStore

    package init(client: PostgresClient, schema: String = AccessService.schema, outbox: OutboxWriter, settings: SiteSettingsStore) {
        self.client = client
        self.schema = schema
        self.outbox = outbox
        self.settings = settings
    }

    /// A site's policy is read at most once per ``lifetime``: a change through another access
    /// instance applies within it (through this one: at once).
    package static let lifetime = Duration.seconds(1)
    let cache = ExpiringCache<SiteSettingsStore.SiteKey, SitePolicy>(lifetime: lifetime)

    /// The site's policy now (lockdown from the site settings).
    package func site(tenant: TenantID, site: UUID, logger: Logger) async throws -> SitePolicy {
        var policy =
            try await self.cache.value(SiteSettingsStore.SiteKey(tenant: tenant, site: site)) {
                try await self.read(tenant: tenant, site: site, logger: logger)
            } ?? SitePolicy()
        policy.lockdown = try await self.settings.get(tenant: tenant, site: site, logger: logger).lockdownSince != nil
        return policy
    }

    func read(tenant: TenantID, site: UUID, logger: Logger) async throws -> SitePolicy {
        var policy = SitePolicy()
        for try await (day, name) in try await self.client.query(
            """
            SELECT to_char(day, 'YYYY-MM-DD'), name FROM \(unescaped: self.schema).holidays
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)
            """,
            logger: logger
        ).decode((String, String).self) {
            if let date = LocalDate(day) { policy.holidays.days[date] = name }
        }
        for try await (door, hours, free) in try await self.client.query(
            """
            SELECT door_id, hours, free_access FROM \(unescaped: self.schema).door_policies
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)
            """,
            logger: logger
        ).decode((UUID, String?, String?).self) {
            policy.doors[door] = DoorPolicy(hours: try hours.map(Self.schedule), freeAccess: try free.map(Self.schedule))
        }
        for try await row in try await self.client.query(
            """
            SELECT \(unescaped: Self.exceptionColumns) FROM \(unescaped: self.schema).door_exceptions
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND ends_at > now()
            """,
            logger: logger
        ) {
            policy.exceptions.append(try Self.exception(row))
        }
        for try await row in try await self.client.query(
            """
            SELECT \(unescaped: Self.groupColumns) FROM \(unescaped: self.schema).access_groups
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)
            """,
            logger: logger
        ) {
            let group = try Self.group(row)
            policy.groups[group.id] = group
        }
        policy.callHours = try await self.readCallHours(tenant: tenant, site: site, logger: logger)
        return policy
    }

    func forget(tenant: TenantID, site: UUID) { self.cache.remove(SiteSettingsStore.SiteKey(tenant: tenant, site: site)) }

    static func schedule(_ text: String) throws -> WeeklySchedule { try JSONDecoder().decode(WeeklySchedule.self, from: Data(text.utf8)) }
    static func text(_ schedule: WeeklySchedule?) throws -> String? {
        try schedule.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
    }

    /// The groups of `site` that `person` belongs to.
    package func memberships(tenant: TenantID, site: UUID, person: UUID, logger: Logger) async throws -> Set<UUID> {
        var groups = Set<UUID>()
        for try await id in try await self.client.query(
            """
            SELECT m.group_id FROM \(unescaped: self.schema).group_members m
            JOIN \(unescaped: self.schema).access_groups g ON g.id = m.group_id AND g.tenant_id = m.tenant_id
            WHERE m.tenant_id = \(tenant.rawValue) AND m.person_id = \(person) AND g.site_id = \(site)
            """,
            logger: logger
        ).decode(UUID.self) {
            groups.insert(id)
        }
        return groups
    }

    /// Writes a change and its `policy_changed` event in one transaction, and forgets the cached site.
    func change<T: Sendable>(
        tenant: TenantID,
        site: UUID,
        object: String,
        objectId: UUID?,
        action: String,
        by person: UUID?,
        logger: Logger,
        _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        defer { self.forget(tenant: tenant, site: site) }
        return try await self.client.transaction(logger: logger) { connection in
            let result = try await body(connection)
            try await self.outbox.enqueue(
                PolicyChanged(siteId: site, object: object, objectId: objectId, action: action),
                tenant: tenant,
                subject: "site/\(site.lowercasedString)",
                context: EventContext(site: site, person: person, outcome: action),
                on: connection,
                logger: logger
            )
            return result
        }
    }

    // MARK: Groups

    static let groupColumns = "id, site_id, name, door_ids, schedule"

    static func group(_ row: PostgresRow) throws -> AccessGroup {
        let (id, site, name, doors, schedule) = try row.decode((UUID, UUID, String, [UUID], String?).self)
        return AccessGroup(id: id, siteId: site, name: name, doorIds: doors, schedule: try schedule.map(Self.schedule))
    }

    package func groups(tenant: TenantID, site: UUID, logger: Logger) async throws -> [AccessGroup] {
        try await self.client.query(
            """
            SELECT \(unescaped: Self.groupColumns) FROM \(unescaped: self.schema).access_groups
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) ORDER BY name
            """,
            logger: logger
        ).collect().map(Self.group)
    }

    package func group(tenant: TenantID, site: UUID, id: UUID, logger: Logger) async throws -> AccessGroup? {
        for try await row in try await self.client.query(
            """
            SELECT \(unescaped: Self.groupColumns) FROM \(unescaped: self.schema).access_groups
            WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND id = \(id)
            """,
            logger: logger
        ) {
            return try Self.group(row)
        }
        return nil
    }

    /// Creates (`group.id` new) or replaces the group; `nil` when replacing one that does not exist.
    package func put(tenant: TenantID, _ group: AccessGroup, creating: Bool, by person: UUID?, logger: Logger) async throws -> AccessGroup? {
        let schedule = try Self.text(group.schedule)
        return try await self.change(
            tenant: tenant,
            site: group.siteId,
            object: "group",
            objectId: group.id,
            action: creating ? "created" : "updated",
            by: person,
            logger: logger
        ) { connection in
            if creating {
                let count =
                    try await connection.query(
                        "SELECT count(*) FROM \(unescaped: self.schema).access_groups WHERE tenant_id = \(tenant.rawValue) AND site_id = \(group.siteId)",
                        logger: logger
                    ).collect().first?.decode(Int.self) ?? 0
                guard count < AccessGroup.maxPerSite else { throw PolicyStoreError.tooMany }
            }
            let statement: PostgresQuery =
                creating
                ? """
                INSERT INTO \(unescaped: self.schema).access_groups (id, tenant_id, site_id, name, door_ids, schedule)
                VALUES (\(group.id), \(tenant.rawValue), \(group.siteId), \(group.name), \(group.doorIds), \(schedule))
                ON CONFLICT (tenant_id, site_id, name) DO NOTHING
                RETURNING \(unescaped: Self.groupColumns)
                """
                : """
                UPDATE \(unescaped: self.schema).access_groups SET name = \(group.name), door_ids = \(group.doorIds), schedule = \(schedule),
                    updated_at = now()
                WHERE tenant_id = \(tenant.rawValue) AND site_id = \(group.siteId) AND id = \(group.id)
                RETURNING \(unescaped: Self.groupColumns)
                """
            do {
                for try await row in try await connection.query(statement, logger: logger) { return try Self.group(row) }
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw PolicyStoreError.duplicateName
            }
            if creating { throw PolicyStoreError.duplicateName }
            return nil
        }
    }

    package func deleteGroup(tenant: TenantID, site: UUID, id: UUID, by person: UUID?, logger: Logger) async throws -> Bool {
        do {
            return try await self.change(tenant: tenant, site: site, object: "group", objectId: id, action: "deleted", by: person, logger: logger) {
                connection in
                let rows = try await connection.query(
                    """
                    DELETE FROM \(unescaped: self.schema).access_groups WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND id = \(id)
                    RETURNING id
                    """,
                    logger: logger
                ).collect()
                guard !rows.isEmpty else { throw PolicyStoreError.notFound }
                return true
            }
        } catch PolicyStoreError.notFound {
            return false
        }
    }

    package func members(tenant: TenantID, group: UUID, logger: Logger) async throws -> [UUID] {
        try await self.client.query(
            """
            SELECT person_id FROM \(unescaped: self.schema).group_members
            WHERE tenant_id = \(tenant.rawValue) AND group_id = \(group) ORDER BY added_at, person_id
            """,
            logger: logger
        ).collect().map { try $0.decode(UUID.self) }
    }

    /// Adds (`member == true`) or removes a person; `false` when nothing changed.
    package func setMember(
        tenant: TenantID,
        site: UUID,
        group: UUID,
        person: UUID,
        member: Bool,
        by actor: UUID?,
        logger: Logger
    ) async throws -> Bool {
        do {
            return try await self.change(
                tenant: tenant,
                site: site,
                object: "membership",
                objectId: group,
                action: member ? "created" : "deleted",
                by: actor,
                logger: logger
            ) { connection in
                let statement: PostgresQuery =
                    member
                    ? """
                    INSERT INTO \(unescaped: self.schema).group_members (tenant_id, group_id, person_id)
                    VALUES (\(tenant.rawValue), \(group), \(person)) ON CONFLICT DO NOTHING RETURNING person_id
                    """
                    : """
                    DELETE FROM \(unescaped: self.schema).group_members
                    WHERE tenant_id = \(tenant.rawValue) AND group_id = \(group) AND person_id = \(person) RETURNING person_id
                    """
                // Nothing changed: no event (the transaction is rolled back by the throw).
                guard try await !connection.query(statement, logger: logger).collect().isEmpty else { throw PolicyStoreError.unchanged }
                return true
            }
        } catch PolicyStoreError.unchanged {
            return false
        }
    }

    // MARK: Holidays

    package func holidays(tenant: TenantID, site: UUID, logger: Logger) async throws -> HolidayCalendar {
        try await self.read(tenant: tenant, site: site, logger: logger).holidays
    }

    /// Replaces the site's calendar.
    package func putHolidays(tenant: TenantID, site: UUID, _ calendar: HolidayCalendar, by person: UUID?, logger: Logger) async throws {
        _ = try await self.change(tenant: tenant, site: site, object: "holidays", objectId: nil, action: "updated", by: person, logger: logger) {
            connection in
            try await connection.query(
                "DELETE FROM \(unescaped: self.schema).holidays WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)",
                logger: logger
            )
            for (date, name) in calendar.days {
                try await connection.query(
                    """
                    INSERT INTO \(unescaped: self.schema).holidays (tenant_id, site_id, day, name)
                    VALUES (\(tenant.rawValue), \(site), \(date.description)::date, \(name))
                    """,
                    logger: logger
                )
            }
        }
    }

    // MARK: Door policies

    package func doorPolicy(tenant: TenantID, door: UUID, logger: Logger) async throws -> DoorPolicy {
        for try await (hours, free) in try await self.client.query(
            """
            SELECT hours, free_access FROM \(unescaped: self.schema).door_policies
            WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door)
            """,
            logger: logger
        ).decode((String?, String?).self) {
            return DoorPolicy(hours: try hours.map(Self.schedule), freeAccess: try free.map(Self.schedule))
        }
        return DoorPolicy()
    }

    package func putDoorPolicy(tenant: TenantID, door: DoorInfo, _ policy: DoorPolicy, by person: UUID?, logger: Logger) async throws {
        let hours = try Self.text(policy.hours)
        let free = try Self.text(policy.freeAccess)
        _ = try await self.change(
            tenant: tenant,
            site: door.siteId,
            object: "doorPolicy",
            objectId: door.id,
            action: "updated",
            by: person,
            logger: logger
        ) { connection in
            try await connection.query(
                """
                INSERT INTO \(unescaped: self.schema).door_policies (tenant_id, door_id, site_id, hours, free_access)
                VALUES (\(tenant.rawValue), \(door.id), \(door.siteId), \(hours), \(free))
                ON CONFLICT (tenant_id, door_id) DO UPDATE SET hours = excluded.hours, free_access = excluded.free_access,
                    site_id = excluded.site_id, updated_at = now()
                """,
                logger: logger
            )
        }
    }

    // MARK: Exceptions

    static let exceptionColumns = "id, site_id, door_id, starts_at, ends_at, mode, note"

    static func exception(_ row: PostgresRow) throws -> DoorException {
        let (id, site, door, starts, ends, mode, note) = try row.decode((UUID, UUID, UUID?, Date, Date, String, String?).self)
        return DoorException(
            id: id,
            siteId: site,
            doorId: door,
            startsAt: starts,
            endsAt: ends,
            mode: DoorException.Mode(rawValue: mode) ?? .locked,
            note: note
        )
    }

    /// Exceptions of the site that have not ended, earliest first.
    package func exceptions(tenant: TenantID, site: UUID, logger: Logger) async throws -> [DoorException] {
        try await self.read(tenant: tenant, site: site, logger: logger).exceptions.sorted {
            ($0.startsAt, $0.id.uuidString) < ($1.startsAt, $1.id.uuidString)
        }
    }

    package func addException(tenant: TenantID, _ exception: DoorException, by person: UUID?, logger: Logger) async throws {
        _ = try await self.change(
            tenant: tenant,
            site: exception.siteId,
            object: "exception",
            objectId: exception.id,
            action: "created",
            by: person,
            logger: logger
        ) { connection in
            let count =
                try await connection.query(
                    """
                    SELECT count(*) FROM \(unescaped: self.schema).door_exceptions
                    WHERE tenant_id = \(tenant.rawValue) AND site_id = \(exception.siteId) AND ends_at > now()
                    """,
                    logger: logger
                ).collect().first?.decode(Int.self) ?? 0
            guard count < Self.maxOpenExceptions else { throw PolicyStoreError.tooMany }
            try await connection.query(
                """
                INSERT INTO \(unescaped: self.schema).door_exceptions (id, tenant_id, site_id, door_id, starts_at, ends_at, mode, note)
                VALUES (\(exception.id), \(tenant.rawValue), \(exception.siteId), \(exception.doorId), \(exception.startsAt), \(exception.endsAt),
                        \(exception.mode.rawValue), \(exception.note))
                """,
                logger: logger
            )
        }
    }

    /// At most this many exceptions of a site that have not ended.
    package static let maxOpenExceptions = 500

    package func deleteException(tenant: TenantID, site: UUID, id: UUID, by person: UUID?, logger: Logger) async throws -> Bool {
        do {
            return try await self.change(tenant: tenant, site: site, object: "exception", objectId: id, action: "deleted", by: person, logger: logger)
            {
                connection in
                let rows = try await connection.query(
                    """
                    DELETE FROM \(unescaped: self.schema).door_exceptions
                    WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND id = \(id) RETURNING id
                    """,
                    logger: logger
                ).collect()
                guard !rows.isEmpty else { throw PolicyStoreError.notFound }
                return true
            }
        } catch PolicyStoreError.notFound {
            return false
        }
    }

    package static let migration = SQLMigration(
        "0006_policies",
        [
            """
            CREATE TABLE {schema}.access_groups (
                id UUID PRIMARY KEY,
                tenant_id UUID NOT NULL,
                site_id UUID NOT NULL,
                name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                door_ids UUID[] NOT NULL CHECK (cardinality(door_ids) BETWEEN 1 AND 64),
                schedule TEXT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                UNIQUE (tenant_id, site_id, name)
            )
            """,
            """
            CREATE TABLE {schema}.group_members (
                tenant_id UUID NOT NULL,
                group_id UUID NOT NULL REFERENCES {schema}.access_groups (id) ON DELETE CASCADE,
                person_id UUID NOT NULL,
                added_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (group_id, person_id)
            )
            """,
            "CREATE INDEX group_members_person ON {schema}.group_members (tenant_id, person_id)",
            """
            CREATE TABLE {schema}.holidays (
                tenant_id UUID NOT NULL,
                site_id UUID NOT NULL,
                day DATE NOT NULL,
                name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
                PRIMARY KEY (tenant_id, site_id, day)
            )
            """,
            """
            CREATE TABLE {schema}.door_policies (
                tenant_id UUID NOT NULL,
                door_id UUID NOT NULL,
                site_id UUID NOT NULL,
                hours TEXT,
                free_access TEXT,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant_id, door_id)
            )
            """,
            "CREATE INDEX door_policies_site ON {schema}.door_policies (tenant_id, site_id)",
            """
            CREATE TABLE {schema}.door_exceptions (
                id UUID PRIMARY KEY,
                tenant_id UUID NOT NULL,
                site_id UUID NOT NULL,
                door_id UUID,
                starts_at TIMESTAMPTZ NOT NULL,
                ends_at TIMESTAMPTZ NOT NULL CHECK (ends_at > starts_at),
                mode TEXT NOT NULL CHECK (mode IN ('locked', 'open')),
                note TEXT CHECK (length(note) <= 200),
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX door_exceptions_site ON {schema}.door_exceptions (tenant_id, site_id, ends_at)",
        ]
    )
}

package enum PolicyStoreError: Error {
    case duplicateName
    case tooMany
    case notFound
    case unchanged
}
