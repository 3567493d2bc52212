import Crypto
package import Foundation
import GatehouseAuth
package import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit

/// Which records to read: a tenant, any of the context filters, a time range, and the caller's
/// scope (a staff member's sites or buildings).
package struct AuditFilter: Sendable, Hashable {
    package var tenant: TenantID
    package var site: UUID?
    package var building: UUID?
    package var door: UUID?
    package var unit: UUID?
    package var person: UUID?
    package var call: UUID?
    package var pass: UUID?
    /// A CloudEvents type, exactly.
    package var eventType: String?
    package var outcome: String?
    /// `occurred_at` in `[from, to)`.
    package var from: Date?
    package var to: Date?
    /// When set, only records of these sites (staff scope); records without a site are excluded.
    package var allowedSites: [UUID]?
    /// When set, only records of these buildings (building-scoped staff).
    package var allowedBuildings: [UUID]?

    package init(
        tenant: TenantID,
        site: UUID? = nil,
        building: UUID? = nil,
        door: UUID? = nil,
        unit: UUID? = nil,
        person: UUID? = nil,
        call: UUID? = nil,
        pass: UUID? = nil,
        eventType: String? = nil,
        outcome: String? = nil,
        from: Date? = nil,
        to: Date? = nil
    ) {
        self.tenant = tenant
        self.site = site
        self.building = building
        self.door = door
        self.unit = unit
        self.person = person
        self.call = call
        self.pass = pass
        self.eventType = eventType
        self.outcome = outcome
        self.from = from
        self.to = to
    }

    /// `WHERE` conditions and their bindings, numbered from `$1`.
    func conditions() -> (sql: String, binds: PostgresBindings) {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func add(_ condition: String, _ value: some PostgresDynamicTypeEncodable) {
            binds.append(value)
            conditions.append(condition.replacingOccurrences(of: "?", with: "$\(conditions.count + 1)"))
        }
        add("tenant_id = ?", self.tenant.rawValue)
        for (column, value) in [
            ("site_id", self.site), ("building_id", self.building), ("door_id", self.door), ("unit_id", self.unit),
            ("person_id", self.person), ("call_id", self.call), ("pass_id", self.pass),
        ] {
            if let value { add("\(column) = ?", value) }
        }
        if let eventType { add("event_type = ?", eventType) }
        if let outcome { add("outcome = ?", outcome) }
        // Times go as text: a `Date` bound directly can land a microsecond off a stored millisecond.
        if let from { add("occurred_at >= ?::timestamptz", WireCoding.format(from)) }
        if let to { add("occurred_at < ?::timestamptz", WireCoding.format(to)) }
        if let allowedSites { add("site_id = ANY(?)", allowedSites) }
        if let allowedBuildings { add("building_id = ANY(?)", allowedBuildings) }
        return (conditions.joined(separator: " AND "), binds)
    }
}

/// One record as support staff read it: who, what, where, when, why, and the event itself when it
/// is readable (not sealed, or sealed under a key that still exists).
package struct AuditEntry: Sendable, Hashable {
    package var sequence: Int64
    package var eventID: UUID
    package var eventType: String
    package var source: String
    package var subject: String?
    package var occurredAt: Date
    package var recordedAt: Date
    package var context: EventContext
    package var sealed: Bool
    /// Sealed under the key of a person who was erased: the event can no longer be read.
    package var erased: Bool
    /// The CloudEvent JSON as received, when readable.
    package var event: [UInt8]?

    /// One JSON object (docs/audit.md), the event spliced in as it was received.
    package func json(tenant: TenantID) -> [UInt8] {
        var object: [String: Any] = [
            "tenantId": tenant.description,
            "sequence": self.sequence,
            "eventId": self.eventID.lowercasedString,
            "type": self.eventType,
            "source": self.source,
            "occurredAt": WireCoding.format(self.occurredAt),
            "recordedAt": WireCoding.format(self.recordedAt),
            "sealed": self.sealed,
            "erased": self.erased,
        ]
        object["subject"] = self.subject
        let c = self.context
        for (key, id) in [
            ("siteId", c.siteid), ("buildingId", c.buildingid), ("doorId", c.doorid), ("unitId", c.unitid), ("personId", c.personid),
            ("callId", c.callid), ("passId", c.passid),
        ] {
            object[key] = id?.lowercasedString
        }
        object["outcome"] = c.outcome
        object["reason"] = c.reason
        var links: [String: String] = [:]
        let base = "/v1/tenants/\(tenant)/audit/records"
        if let call = c.callid { links["call"] = "\(base)?call=\(call.lowercasedString)" }
        if let pass = c.passid { links["pass"] = "\(base)?pass=\(pass.lowercasedString)" }
        if let person = c.personid { links["person"] = "\(base)?person=\(person.lowercasedString)" }
        if !links.isEmpty { object["links"] = links }
        var bytes = Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
        bytes.removeLast()  // "}"
        bytes.append(contentsOf: Array(#","event":"#.utf8))
        bytes.append(contentsOf: self.event ?? Array("null".utf8))
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    package static let csvHeader =
        "tenant_id,sequence,event_id,type,occurred_at,recorded_at,source,subject,site_id,building_id,door_id,unit_id,person_id,call_id,pass_id,outcome,reason,sealed,erased"

    /// One CSV line (RFC 4180), without the event body.
    package func csv(tenant: TenantID) -> String {
        let c = self.context
        let fields: [String] =
            [
                tenant.description, String(self.sequence), self.eventID.lowercasedString, self.eventType, WireCoding.format(self.occurredAt),
                WireCoding.format(self.recordedAt), self.source, self.subject ?? "",
            ] + [c.siteid, c.buildingid, c.doorid, c.unitid, c.personid, c.callid, c.passid].map { $0?.lowercasedString ?? "" }
            + [c.outcome ?? "", c.reason ?? "", self.sealed ? "true" : "false", self.erased ? "true" : "false"]
        return fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }
}

/// A page of records, newest first, and the cursor of the next (older) page.
package struct AuditPage: Sendable {
    package var records: [AuditEntry]
    package var nextCursor: String?
}

/// Reads records for support staff and exports (as `gatehouse_audit_reader`, which may only SELECT).
package struct AuditReader: Sendable {
    /// Largest page.
    package static let maxPageSize = 500
    /// Person keys kept in memory while reading one page.
    static let keyCacheLimit = 10_000

    let client: PostgresClient
    let schema: String
    /// Without a keyring, sealed events are returned without their body.
    let keyring: PersonKeyring?

    package init(client: PostgresClient, schema: String = AuditService.schema, keyring: PersonKeyring?) {
        self.client = client
        self.schema = schema
        self.keyring = keyring
    }

    static let columns = """
        seq, event_id, event_type, source, subject, occurred_at, recorded_at, site_id, building_id, door_id, unit_id, person_id,
        call_id, pass_id, outcome, reason, sealed, raw
        """

    /// Newest first (by occurrence, then sequence), `limit` at most, after `cursor`.
    package func records(_ filter: AuditFilter, cursor: String? = nil, limit: Int = 50, logger: Logger) async throws -> AuditPage {
        var (conditions, binds) = filter.conditions()
        if let cursor {
            guard let position = Self.decodeCursor(cursor) else { throw AuditReadError.invalidCursor }
            binds.append(WireCoding.format(position.occurredAt))
            binds.append(position.sequence)
            conditions += " AND (occurred_at, seq) < ($\(binds.count - 1)::timestamptz, $\(binds.count))"
        }
        let limit = min(max(limit, 1), Self.maxPageSize)
        let sql = "SELECT \(Self.columns) FROM \(self.schema).records WHERE \(conditions) ORDER BY occurred_at DESC, seq DESC LIMIT \(limit + 1)"
        var entries = try await self.fetch(PostgresQuery(unsafeSQL: sql, binds: binds), tenant: filter.tenant, logger: logger)
        var next: String?
        if entries.count > limit {
            entries.removeLast()
            next = entries.last.map { Self.encodeCursor(occurredAt: $0.occurredAt, sequence: $0.sequence) }
        }
        return AuditPage(records: entries, nextCursor: next)
    }

    /// The record with this sequence number, if it matches the filter (scope).
    package func record(_ filter: AuditFilter, sequence: Int64, logger: Logger) async throws -> AuditEntry? {
        var (conditions, binds) = filter.conditions()
        binds.append(sequence)
        conditions += " AND seq = $\(binds.count)"
        let sql = "SELECT \(Self.columns) FROM \(self.schema).records WHERE \(conditions)"
        return try await self.fetch(PostgresQuery(unsafeSQL: sql, binds: binds), tenant: filter.tenant, logger: logger).first
    }

    /// Records exported per page.
    package static let exportPageSize = 1000

    /// The next page of an export: matching records after sequence `after`, in chain order. An
    /// export walks pages until one comes back short; memory is bounded by the page, whatever the
    /// number of records, and no transaction stays open between pages.
    package func exportPage(_ filter: AuditFilter, after: Int64, limit: Int = AuditReader.exportPageSize, logger: Logger) async throws -> [AuditEntry]
    {
        var (conditions, binds) = filter.conditions()
        binds.append(after)
        conditions += " AND seq > $\(binds.count)"
        let sql =
            "SELECT \(Self.columns) FROM \(self.schema).records WHERE \(conditions) ORDER BY seq LIMIT \(min(max(limit, 1), 10_000))"
        return try await self.fetch(PostgresQuery(unsafeSQL: sql, binds: binds), tenant: filter.tenant, logger: logger)
    }

    /// The entries of a query, in one read-only transaction. The rows are read to the end before
    /// any person key is looked up: a second query on the connection while the first still streams
    /// would wait for it forever.
    private func fetch(_ query: PostgresQuery, tenant: TenantID, logger: Logger) async throws -> [AuditEntry] {
        var entries: [AuditEntry] = []
        var keys = KeyCache()
        try await self.readOnly(logger: logger) { connection in
            var rows: [PostgresRow] = []
            for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
            for row in rows {
                entries.append(try await self.entry(row, tenant: tenant, keys: &keys, on: connection, logger: logger))
            }
        }
        return entries
    }

    private func readOnly(logger: Logger, _ body: (PostgresConnection) async throws -> Void) async throws {
        try await self.client.withConnection { connection in
            try await connection.query("BEGIN READ ONLY", logger: logger)
            do {
                try await connection.query("SET LOCAL ROLE gatehouse_audit_reader", logger: logger)
                try await body(connection)
                try await connection.query("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    struct KeyCache {
        var keys: [UUID: SymmetricKey?] = [:]
    }

    private func entry(_ row: PostgresRow, tenant: TenantID, keys: inout KeyCache, on connection: PostgresConnection, logger: Logger) async throws
        -> AuditEntry
    {
        let (
            sequence, eventID, type, source, subject, occurredAt, recordedAt, site, building, door, unit, person, call, pass, outcome, reason, sealed,
            raw
        ) =
            try row.decode(
                (
                    Int64, UUID, String, String, String?, Date, Date, UUID?, UUID?, UUID?, UUID?, UUID?, UUID?, UUID?, String?, String?, Bool,
                    ByteBuffer
                ).self
            )
        var entry = AuditEntry(
            sequence: sequence,
            eventID: eventID,
            eventType: type,
            source: source,
            subject: subject,
            occurredAt: occurredAt,
            recordedAt: recordedAt,
            context: EventContext(
                site: site,
                building: building,
                door: door,
                unit: unit,
                person: person,
                call: call,
                pass: pass,
                outcome: outcome,
                reason: reason
            ),
            sealed: sealed,
            erased: false,
            event: Array(buffer: raw)
        )
        guard sealed else { return entry }
        entry.event = nil
        guard let person, let keyring = self.keyring else { return entry }
        if keys.keys[person] == nil {
            if keys.keys.count >= Self.keyCacheLimit { keys.keys.removeAll(keepingCapacity: true) }
            var key: SymmetricKey?
            for try await wrapped in try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT wrapped_key FROM \(self.schema).person_keys WHERE tenant_id = $1 AND person_id = $2",
                    binds: PostgresBindings(tenant.rawValue, person)
                ),
                logger: logger
            ).decode(ByteBuffer?.self) {
                key = try wrapped.map { try keyring.unwrap(Array(buffer: $0), tenant: tenant, person: person) }
            }
            keys.keys[person] = .some(key)
        }
        if let key = keys.keys[person] ?? nil,
            let opened = try? PersonKeyring.open(Array(buffer: raw), with: key, tenant: tenant, eventID: eventID)
        {
            entry.event = opened
        } else {
            entry.erased = true
        }
        return entry
    }

    /// Opaque cursor: base64url of `<occurred-at ms>.<sequence>`.
    static func encodeCursor(occurredAt: Date, sequence: Int64) -> String {
        Base64URL.encode(Array("\(Int64((occurredAt.timeIntervalSince1970 * 1000).rounded())).\(sequence)".utf8))
    }

    static func decodeCursor(_ cursor: String) -> (occurredAt: Date, sequence: Int64)? {
        guard cursor.utf8.count <= 64, let bytes = Base64URL.decode(cursor) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ".")
        guard parts.count == 2, let milliseconds = Int64(parts[0]), let sequence = Int64(parts[1]), sequence >= 1 else { return nil }
        return (Date(timeIntervalSince1970: Double(milliseconds) / 1000), sequence)
    }
}

package enum AuditReadError: Error, Hashable {
    case invalidCursor
}
