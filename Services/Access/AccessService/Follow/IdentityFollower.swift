package import Foundation
package import GatehouseNATS
package import GatehouseWire
package import Logging
package import PostgresNIO
package import ServiceKit
import ServiceLifecycle

/// Access's part in what identity ends, from identity's events (docs/events.md, "Who reacts to
/// identity's events"). Each step is idempotent, so a redelivered event changes nothing twice:
/// - `person_erased`: the person's credentials are revoked and their labels dropped, their consent
///   to face entry withdrawn and its evidence dropped, the passes they host revoked and their labels
///   dropped, and they leave every access group;
/// - `door_deleted`: the door's controller (its station's HTTP credentials), device token, policy,
///   exceptions and failure counts are deleted; it leaves passes and access groups, and a pass or
///   group that had only this door is revoked or deleted;
/// - `site_deleted`: the site's settings, call hours, holidays, groups, door policies and exceptions are deleted,
///   and its passes and PINs revoked.
/// Each change is announced like the same change made through the API.
package struct IdentityCleanup: Sendable {
    let client: PostgresClient
    let schema: String
    let outbox: OutboxWriter
    let credentials: CredentialStore

    package init(client: PostgresClient, schema: String = AccessService.schema, outbox: OutboxWriter, credentials: CredentialStore) {
        self.client = client
        self.schema = schema
        self.outbox = outbox
        self.credentials = credentials
    }

    /// Applies one of identity's events; others are ignored. Throws only for a failure worth a
    /// redelivery (the database), never for an event it cannot use.
    package func apply(subject: String, payload: [UInt8], logger: Logger) async throws {
        guard let name = subject.split(separator: ".").last else { return }
        do {
            switch name {
            case Substring(PersonErased.eventType.name):
                let event = try WireCoding.decode(CloudEvent<PersonErased>.self, from: Data(payload))
                try await self.personErased(tenant: event.tenantid, person: event.data.personId, logger: logger)
            case Substring(DoorDeleted.eventType.name):
                let event = try WireCoding.decode(CloudEvent<DoorDeleted>.self, from: Data(payload))
                try await self.doorDeleted(tenant: event.tenantid, door: event.data.resource.id, logger: logger)
            case Substring(SiteDeleted.eventType.name):
                let event = try WireCoding.decode(CloudEvent<SiteDeleted>.self, from: Data(payload))
                try await self.siteDeleted(tenant: event.tenantid, site: event.data.resource.id, logger: logger)
            default:
                return
            }
        } catch let error as DecodingError {
            logger.warning("access: undecodable identity event skipped", metadata: ["gatehouse.subject": "\(subject)", "error.type": "\(error)"])
        }
    }

    package func personErased(tenant: TenantID, person: UUID, logger: Logger) async throws {
        try await self.client.transaction(logger: logger) { connection in
            _ = try await self.credentials.revokeLive(tenant: tenant, person: person, on: connection, logger: logger)
            try await connection.query(
                """
                UPDATE \(unescaped: self.schema).credentials SET label = NULL
                WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person) AND label IS NOT NULL
                """,
                logger: logger
            )
            try await connection.query(
                """
                DELETE FROM \(unescaped: self.schema).mobile_key_nonces n USING \(unescaped: self.schema).credentials c
                WHERE c.tenant_id = \(tenant.rawValue) AND c.person_id = \(person) AND n.credential_id = c.id
                """,
                logger: logger
            )
            var given = false
            for try await live in try await connection.query(
                """
                SELECT withdrawn_at IS NULL FROM \(unescaped: self.schema).biometric_consents
                WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person) FOR UPDATE
                """,
                logger: logger
            ).decode(Bool.self) {
                given = live
            }
            try await connection.query(
                """
                UPDATE \(unescaped: self.schema).biometric_consents SET withdrawn_at = coalesce(withdrawn_at, now()), evidence = NULL
                WHERE tenant_id = \(tenant.rawValue) AND person_id = \(person)
                """,
                logger: logger
            )
            if given {
                try await self.outbox.enqueue(
                    ConsentChanged(personId: person, consent: false),
                    tenant: tenant,
                    subject: "person/\(person.lowercasedString)",
                    context: EventContext(outcome: "withdrawn"),
                    on: connection,
                    logger: logger
                )
            }
            try await self.revokePasses(
                tenant: tenant,
                "host_person_id = \(person)",
                clearingLabels: true,
                on: connection,
                logger: logger
            )
            for try await (group, site) in try await connection.query(
                """
                DELETE FROM \(unescaped: self.schema).group_members m USING \(unescaped: self.schema).access_groups g
                WHERE m.tenant_id = \(tenant.rawValue) AND m.person_id = \(person) AND g.id = m.group_id
                RETURNING g.id, g.site_id
                """,
                logger: logger
            ).decode((UUID, UUID).self) {
                try await self.announcePolicy(
                    tenant: tenant,
                    site: site,
                    object: "membership",
                    id: group,
                    action: "deleted",
                    on: connection,
                    logger: logger
                )
            }
        }
    }

    package func doorDeleted(tenant: TenantID, door: UUID, logger: Logger) async throws {
        try await self.client.transaction(logger: logger) { connection in
            for table in ["door_controllers", "door_device_tokens", "credential_failures"] {
                try await connection.query(
                    "DELETE FROM \(unescaped: self.schema).\(unescaped: table) WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door)",
                    logger: logger
                )
            }
            try await connection.query(
                """
                UPDATE \(unescaped: self.schema).passes SET door_ids = array_remove(door_ids, \(door))
                WHERE tenant_id = \(tenant.rawValue) AND \(door) = ANY(door_ids) AND cardinality(door_ids) > 1
                """,
                logger: logger
            )
            try await self.revokePasses(tenant: tenant, "door_ids = ARRAY[\(door)]::uuid[]", clearingLabels: false, on: connection, logger: logger)
            var changes: [(site: UUID, object: String, id: UUID?, action: String)] = []
            for try await (group, site) in try await connection.query(
                """
                UPDATE \(unescaped: self.schema).access_groups SET door_ids = array_remove(door_ids, \(door)), updated_at = now()
                WHERE tenant_id = \(tenant.rawValue) AND \(door) = ANY(door_ids) AND cardinality(door_ids) > 1 RETURNING id, site_id
                """,
                logger: logger
            ).decode((UUID, UUID).self) {
                changes.append((site, "group", group, "updated"))
            }
            for try await (group, site) in try await connection.query(
                """
                DELETE FROM \(unescaped: self.schema).access_groups
                WHERE tenant_id = \(tenant.rawValue) AND door_ids = ARRAY[\(door)]::uuid[] RETURNING id, site_id
                """,
                logger: logger
            ).decode((UUID, UUID).self) {
                changes.append((site, "group", group, "deleted"))
            }
            for try await site in try await connection.query(
                "DELETE FROM \(unescaped: self.schema).door_policies WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door) RETURNING site_id",
                logger: logger
            ).decode(UUID.self) {
                changes.append((site, "doorPolicy", door, "deleted"))
            }
            for try await (exception, site) in try await connection.query(
                "DELETE FROM \(unescaped: self.schema).door_exceptions WHERE tenant_id = \(tenant.rawValue) AND door_id = \(door) RETURNING id, site_id",
                logger: logger
            ).decode((UUID, UUID).self) {
                changes.append((site, "exception", exception, "deleted"))
            }
            for change in changes {
                try await self.announcePolicy(
                    tenant: tenant,
                    site: change.site,
                    object: change.object,
                    id: change.id,
                    action: change.action,
                    on: connection,
                    logger: logger
                )
            }
        }
    }

    package func siteDeleted(tenant: TenantID, site: UUID, logger: Logger) async throws {
        try await self.client.transaction(logger: logger) { connection in
            // Group members go with their groups (ON DELETE CASCADE).
            for table in ["access_groups", "holidays", "door_policies", "door_exceptions", "site_settings", "call_hours"] {
                try await connection.query(
                    "DELETE FROM \(unescaped: self.schema).\(unescaped: table) WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site)",
                    logger: logger
                )
            }
            try await self.revokePasses(tenant: tenant, "site_id = \(site)", clearingLabels: false, on: connection, logger: logger)
            var holders: Set<UUID> = []
            for try await person in try await connection.query(
                """
                SELECT DISTINCT person_id FROM \(unescaped: self.schema).credentials
                WHERE tenant_id = \(tenant.rawValue) AND site_id = \(site) AND revoked_at IS NULL
                """,
                logger: logger
            ).decode(UUID.self) {
                holders.insert(person)
            }
            for person in holders {
                _ = try await self.credentials.revokeLive(tenant: tenant, person: person, site: site, on: connection, logger: logger)
            }
        }
    }

    /// Revokes the tenant's live passes matching `condition` (SQL over the passes table), announcing
    /// each; `clearingLabels` also drops the labels of all passes matching it.
    private func revokePasses(
        tenant: TenantID,
        _ condition: PostgresQuery,
        clearingLabels: Bool,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        var revoked: [(pass: UUID, site: UUID, host: UUID)] = []
        var query = condition
        query.sql =
            "UPDATE \(self.schema).passes SET revoked_at = now() WHERE tenant_id = $\(query.binds.count + 1) AND revoked_at IS NULL AND ("
            + condition.sql + ") RETURNING id, site_id, host_person_id"
        query.binds.append(tenant.rawValue)
        for try await row in try await connection.query(query, logger: logger).decode((UUID, UUID, UUID).self) {
            revoked.append(row)
        }
        if clearingLabels {
            var clear = condition
            clear.sql = "UPDATE \(self.schema).passes SET label = NULL WHERE tenant_id = $\(clear.binds.count + 1) AND (" + condition.sql + ")"
            clear.binds.append(tenant.rawValue)
            try await connection.query(clear, logger: logger)
        }
        for (pass, site, host) in revoked {
            try await self.outbox.enqueue(
                PassRevoked(passId: pass),
                tenant: tenant,
                subject: "pass/\(pass.lowercasedString)",
                context: EventContext(site: site, person: host, pass: pass),
                on: connection,
                logger: logger
            )
        }
    }

    private func announcePolicy(
        tenant: TenantID,
        site: UUID,
        object: String,
        id: UUID?,
        action: String,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        try await self.outbox.enqueue(
            PolicyChanged(siteId: site, object: object, objectId: id, action: action),
            tenant: tenant,
            subject: "site/\(site.lowercasedString)",
            context: EventContext(site: site, outcome: action),
            on: connection,
            logger: logger
        )
    }
}

/// Feeds ``IdentityCleanup`` from the durable JetStream consumer `access-identity` on identity's
/// events (``EventFollower``: acknowledged after the change commits, redelivered after a failure). A
/// new consumer starts at the stream's beginning, so erasures from before access listened apply too.
package struct IdentityFollower: Service {
    package static let consumer = "access-identity"
    package static let filterSubject = "gatehouse.v1.evt.*.identity.>"

    let nats: NATSClient
    let stream: String
    let cleanup: IdentityCleanup
    let logger: Logger
    let consumer: String
    let deliverPolicy: ConsumerConfiguration.DeliverPolicy

    /// `consumer` and `deliverPolicy` are for tests, which follow only what they publish.
    package init(
        nats: NATSClient,
        stream: String,
        cleanup: IdentityCleanup,
        logger: Logger,
        consumer: String = Self.consumer,
        deliverPolicy: ConsumerConfiguration.DeliverPolicy = .all
    ) {
        self.nats = nats
        self.stream = stream
        self.cleanup = cleanup
        self.logger = logger
        self.consumer = consumer
        self.deliverPolicy = deliverPolicy
    }

    package func run() async throws {
        let cleanup = self.cleanup
        let logger = self.logger
        try await EventFollower(
            nats: self.nats,
            stream: self.stream,
            configuration: ConsumerConfiguration(
                durableName: self.consumer,
                filterSubject: Self.filterSubject,
                deliverPolicy: self.deliverPolicy,
                ackWait: .seconds(30),
                maxAckPending: 1000
            ),
            logger: logger
        ) { message in try await cleanup.apply(subject: message.subject, payload: message.payload, logger: logger) }.run()
    }
}
