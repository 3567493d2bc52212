import Foundation
import GatehouseAuth
package import GatehouseWire
import Logging
package import PostgresNIO
package import ServiceKit

// The requests identity answers for the other services (docs/events.md, "Requests"). Who may send
// which is enforced by NATS permissions (deploy/nats, docs/security.md): the SIP digest lookup is
// for signaling only.

/// `identity.sip_digest`: the HA1 values of a SIP account.
package struct SIPDigestHandler: RequestHandler {
    let store: DeviceStore

    package init(store: DeviceStore) { self.store = store }

    package var method: RPCMethod { SIPDigestLookup.method }

    package func handle(_ request: SIPDigestLookup, context: MessageContext) async throws -> SIPAccount {
        guard request.realm.utf8.count <= 253, request.username.utf8.count <= 64 else {
            throw WireError(code: .invalidRequest, message: "realm or username too long")
        }
        guard let account = try await self.store.sipAccount(realm: request.realm, username: request.username, logger: context.logger) else {
            throw WireError(code: .notFound, message: "no such SIP account")
        }
        return account
    }
}

/// `identity.resolve_dial`: the ring plan for a dialled number at a site.
package struct ResolveDialHandler: RequestHandler {
    let store: DeviceStore

    package init(store: DeviceStore) { self.store = store }

    package var method: RPCMethod { ResolveDialTarget.method }

    package func handle(_ request: ResolveDialTarget, context: MessageContext) async throws -> DialPlan {
        guard request.sipDomain.utf8.count <= 253, (1...16).contains(request.dialled.utf8.count) else {
            throw WireError(code: .invalidRequest, message: "sipDomain or dialled out of bounds")
        }
        guard let plan = try await self.store.dialPlan(sipDomain: request.sipDomain, dialled: request.dialled, logger: context.logger)
        else { throw WireError(code: .notFound, message: "nothing answers to this number at this domain") }
        return plan
    }
}

/// `identity.device`: one device of the caller's tenant.
package struct DeviceLookupHandler: RequestHandler {
    let store: DeviceStore

    package init(store: DeviceStore) { self.store = store }

    package var method: RPCMethod { DeviceLookup.method }

    package func handle(_ request: DeviceLookup, context: MessageContext) async throws -> DeviceInfo {
        let tenant = try context.requiredTenant()
        guard let device = try await self.store.get(tenant: tenant, id: request.deviceId, logger: context.logger) else {
            throw WireError(code: .notFound, message: "no such device")
        }
        return device.info
    }
}

/// `identity.site`: one site of the caller's tenant.
package struct SiteLookupHandler: RequestHandler {
    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    package var method: RPCMethod { SiteLookup.method }

    package func handle(_ request: SiteLookup, context: MessageContext) async throws -> SiteInfo {
        let tenant = try context.requiredTenant()
        for try await (name, zone, domain) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: "SELECT name, time_zone, sip_domain FROM \(self.schema).sites WHERE tenant_id = $1 AND id = $2",
                binds: PostgresBindings(tenant.rawValue, request.siteId)
            ),
            logger: context.logger
        ).decode((String, String, String).self) {
            return SiteInfo(id: request.siteId, tenantId: tenant, name: name, timeZone: zone, sipDomain: domain)
        }
        throw WireError(code: .notFound, message: "no such site")
    }
}

/// `identity.door`: one door of the caller's tenant, where it is and its door stations.
package struct DoorLookupHandler: RequestHandler {
    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    package var method: RPCMethod { DoorLookup.method }

    package func handle(_ request: DoorLookup, context: MessageContext) async throws -> DoorInfo {
        let tenant = try context.requiredTenant()
        var door: DoorInfo?
        // One round trip: the door, its site's time zone and its stations (none: one row of NULLs).
        for try await (site, building, name, kind, zone, device, vendor, url, online) in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT d.site_id, d.building_id, d.name, d.kind, s.time_zone, v.id, v.vendor, v.control_url, v.online
                    FROM \(self.schema).doors d
                    JOIN \(self.schema).sites s ON s.tenant_id = d.tenant_id AND s.id = d.site_id
                    LEFT JOIN \(self.schema).devices v ON v.tenant_id = d.tenant_id AND v.door_id = d.id
                        AND v.kind = 'door_station' AND v.revoked_at IS NULL
                    WHERE d.tenant_id = $1 AND d.id = $2 ORDER BY v.created_at, v.id
                    """,
                binds: PostgresBindings(tenant.rawValue, request.doorId)
            ),
            logger: context.logger
        ).decode((UUID, UUID?, String, String, String, UUID?, String?, String?, Bool?).self) {
            if door == nil {
                door = DoorInfo(
                    id: request.doorId,
                    tenantId: tenant,
                    siteId: site,
                    buildingId: building,
                    name: name,
                    kind: kind,
                    timeZone: zone,
                    stations: []
                )
            }
            if let device {
                door?.stations.append(.init(deviceId: device, vendor: vendor ?? "generic", controlURL: url, online: online ?? false))
            }
        }
        guard let door else { throw WireError(code: .notFound, message: "no such door") }
        return door
    }
}

/// `identity.person`: a person of the caller's tenant, with their units and staff scope.
package struct PersonLookupHandler: RequestHandler {
    let client: PostgresClient
    let schema: String

    package init(client: PostgresClient, schema: String = IdentityService.schema) {
        self.client = client
        self.schema = schema
    }

    package var method: RPCMethod { PersonLookup.method }

    package func handle(_ request: PersonLookup, context: MessageContext) async throws -> PersonInfo {
        let tenant = try context.requiredTenant()
        return try await self.client.withConnection { connection in
            var info: PersonInfo?
            for try await (kind, role, sites, buildings, erased) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT kind, staff_role, site_ids, building_ids, erased_at IS NOT NULL
                        FROM \(self.schema).people WHERE tenant_id = $1 AND id = $2
                        """,
                    binds: PostgresBindings(tenant.rawValue, request.personId)
                ),
                logger: context.logger
            ).decode((String, String?, [UUID], [UUID], Bool).self) {
                info = PersonInfo(
                    id: request.personId,
                    tenantId: tenant,
                    kind: kind,
                    staffRole: role,
                    siteIds: sites,
                    buildingIds: buildings,
                    erased: erased
                )
            }
            guard var info else { throw WireError(code: .notFound, message: "no such person") }
            for try await (unit, site, building, role) in try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT u.id, u.site_id, u.building_id, r.role FROM \(self.schema).unit_residents r
                        JOIN \(self.schema).units u ON u.tenant_id = r.tenant_id AND u.id = r.unit_id
                        WHERE r.tenant_id = $1 AND r.person_id = $2 ORDER BY u.id
                        """,
                    binds: PostgresBindings(tenant.rawValue, request.personId)
                ),
                logger: context.logger
            ).decode((UUID, UUID, UUID, String).self) {
                info.residences.append(.init(unitId: unit, siteId: site, buildingId: building, role: role))
            }
            return info
        }
    }
}

/// `identity.introspect`: whether an access token is still active.
package struct IntrospectionHandler: RequestHandler {
    let client: PostgresClient
    let schema: String
    let keys: AuthKeys

    package init(client: PostgresClient, schema: String = IdentityService.schema, keys: AuthKeys) {
        self.client = client
        self.schema = schema
        self.keys = keys
    }

    package var method: RPCMethod { IntrospectToken.method }

    package func handle(_ request: IntrospectToken, context: MessageContext) async throws -> TokenIntrospection {
        guard request.token.utf8.count <= 4096, let principal = try? self.keys.current.verify(request.token) else {
            return TokenIntrospection(active: false)
        }
        let claims = principal.claims
        // Operator admins are not people of a tenant: their tokens are checked by signature alone.
        if claims.role != .operatorAdmin {
            guard let person = UUID(uuidString: claims.sub) else { return TokenIntrospection(active: false) }
            var active = false
            for try await (erased, validAfter) in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT erased_at IS NOT NULL, sessions_valid_after
                        FROM \(self.schema).people WHERE tenant_id = $1 AND id = $2
                        """,
                    binds: PostgresBindings(claims.tid.rawValue, person)
                ),
                logger: context.logger
            ).decode((Bool, Date?).self) {
                // `iat` and the revocation instant have whole seconds: a token issued in the second of
                // a revocation stays active until it expires (a login right after a password change
                // must work).
                active = !erased && validAfter.map { Double(claims.iat) >= $0.timeIntervalSince1970 } ?? true
            }
            guard active else { return TokenIntrospection(active: false) }
        }
        return TokenIntrospection(
            active: true,
            tenantId: claims.tid,
            subject: claims.sub,
            role: claims.role.rawValue,
            expiresAt: Date(timeIntervalSince1970: TimeInterval(claims.exp))
        )
    }
}
