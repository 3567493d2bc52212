import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import PostgresNIO
package import ServiceKit

/// `/v1/tenants/{tenant}/sites/…` and `/v1/tenants/{tenant}/units/{unit}`: the places of a tenant
/// (sites, buildings, units, doors) and who rings when a unit does not answer (docs/operations.md,
/// "Identity API"). Reading needs `identity:read`, changing `identity:write`.
package struct TopologyAPI: Sendable {
    package static let maxBodyBytes = 16 * 1024
    package static let maxPageSize = 500

    let store: TopologyStore
    let devices: DeviceStore
    let idempotency: IdempotencyStore
    let keys: AuthKeys

    package init(client: PostgresClient, schema: String = IdentityService.schema, keys: AuthKeys) {
        self.store = TopologyStore(client: client, schema: schema)
        self.devices = DeviceStore(client: client, schema: schema)
        self.idempotency = IdempotencyStore(client: client, schema: schema)
        self.keys = keys
    }

    /// A create under `Idempotency-Key` (``IdempotentCreate``): 201 with the resource and its
    /// `Location`. `operation` names the create and its parent, so one key serves one request.
    func create<Resource: Codable & Sendable>(
        _ request: Request,
        body: [UInt8],
        tenant: TenantID,
        operation: String,
        logger: Logger,
        location: @escaping @Sendable (Resource) -> String,
        _ create: () async throws -> Resource
    ) async throws -> Response {
        try await IdempotentCreate<Resource>(store: self.idempotency, operation: operation).run(
            request,
            body: body,
            scope: tenant,
            logger: logger,
            respond: { resource, status in try Response.json(resource, status: status, headers: [.location: location(resource)]) },
            create: create
        )
    }

    /// `^[a-z0-9-]+(\.[a-z0-9-]+)+$`, labels of 1…63 not starting or ending with `-`, at most 253.
    static func isDomainName(_ text: String) -> Bool {
        guard text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2
            && labels.allSatisfy { label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
            }
    }

    /// A name cursor: the last name of a page (names are 1…200 characters).
    static func nameCursor(_ text: String) -> String? { (1...800).contains(text.utf8.count) ? text : nil }

    static func isDialNumber(_ text: String) -> Bool {
        (1...16).contains(text.utf8.count)
            && text.utf8.allSatisfy { $0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber) }
    }

    static func taken(_ field: String) -> Problem {
        Problem(
            slug: "conflict",
            title: "Conflict",
            status: .conflict,
            detail: "\(field) is already used",
            errors: [.init(field: field, message: "is already used")]
        )
    }

    /// A merge-patch body (`application/merge-patch+json` or `application/json`).
    static func patchBody(_ request: Request) async throws -> [String: Any] {
        try await request.jsonObject(maxBytes: Self.maxBodyBytes, contentTypes: ["application/json", "application/merge-patch+json"]).object
    }

    /// Runs a deletion; what still uses the resource is a 409 naming it.
    static func refusingInUse(_ deletion: () async throws -> Void) async throws {
        do {
            try await deletion()
        } catch TopologyStoreError.inUse(let detail) {
            throw Problem(slug: "in-use", title: "In use", status: .conflict, detail: detail)
        }
    }

    func building(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> BuildingResource {
        guard let id = context.parameters.get("building").flatMap(UUID.init(uuidString:)),
            let building = try await self.store.building(tenant: tenant, id: id, logger: context.logger)
        else { throw Problem.notFound("no such building") }
        return building
    }

    func door(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> Door {
        guard let id = context.parameters.get("door").flatMap(UUID.init(uuidString:)),
            let door = try await self.devices.door(tenant: tenant, id: id, logger: context.logger)
        else { throw Problem.notFound("no such door") }
        return door
    }

    static func body(_ request: Request) async throws -> [String: Any] {
        try await request.jsonObject(maxBytes: Self.maxBodyBytes).object
    }

    func site(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> SiteResource {
        guard let id = context.parameters.get("site").flatMap(UUID.init(uuidString:)),
            let site = try await self.store.site(tenant: tenant, id: id, logger: context.logger)
        else { throw Problem.notFound("no such site") }
        return site
    }

    package func register(on router: Router<BasicRequestContext>) {
        let sites = router.group("/v1/tenants/:tenant/sites")
        sites.get { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let (sites, next) = try await Self.pageByName(request) { after, limit in
                try await self.store.sites(tenant: tenant, after: after, limit: limit, logger: context.logger)
            } name: {
                $0.name
            }
            struct Page: Encodable {
                var sites: [SiteResource]
                var nextCursor: String?
            }
            return try Response.json(Page(sites: sites, nextCursor: next))
        }
        sites.post { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let body = try await request.jsonObject(maxBytes: Self.maxBodyBytes)
            var fields = JSONFields(body.object, allowed: ["name", "timeZone", "sipDomain"])
            let name = fields.string("name", required: true)
            let zone = fields.string("timeZone", required: true, maxLength: 64)
            if let zone, TimeZone(identifier: zone) == nil { fields.fail("timeZone", "must be an IANA time zone such as Europe/Berlin") }
            let domain = fields.string("sipDomain", required: true, maxLength: 253)?.lowercased()
            if let domain, !Self.isDomainName(domain) { fields.fail("sipDomain", "must be a DNS name such as sip.example.org") }
            try fields.check("invalid site")
            guard let name, let zone, let domain else { throw Problem.badRequest("invalid site") }
            return try await self.create(
                request,
                body: body.bytes,
                tenant: tenant,
                operation: "sites.create",
                logger: context.logger,
                location: { (created: SiteResource) in "/v1/tenants/\(tenant)/sites/\(created.id)" }
            ) {
                do {
                    return try await self.store.createSite(tenant: tenant, name: name, timeZone: zone, sipDomain: domain, logger: context.logger)
                } catch TopologyStoreError.taken(let field) {
                    throw Self.taken(field)
                }
            }
        }
        sites.get(":site") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let site = try await self.site(tenant, context)
            return try Response.json(site, headers: [.eTag: "\"v\(site.version)\""])
        }
        sites.patch(":site") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let site = try await self.site(tenant, context)
            let version = try Preconditions.expectedVersion(request, of: "site", current: site.version)
            // The SIP domain is fixed at creation: it is the realm every device's digest (HA1) was made with.
            var fields = JSONFields(try await Self.patchBody(request), allowed: ["name", "timeZone"])
            let name = fields.string("name")
            let zone = fields.string("timeZone", maxLength: 64)
            if let zone, TimeZone(identifier: zone) == nil { fields.fail("timeZone", "must be an IANA time zone such as Europe/Berlin") }
            try fields.check("invalid site")
            do {
                guard
                    let updated = try await self.store.updateSite(
                        tenant: tenant,
                        id: UUID(uuidString: site.id)!,
                        expectedVersion: version,
                        name: name,
                        timeZone: zone,
                        logger: context.logger
                    )
                else { throw Problem.notFound("no such site") }
                return try Response.json(updated, headers: [.eTag: "\"v\(updated.version)\""])
            } catch TopologyStoreError.versionMismatch(let current) {
                throw Preconditions.stale("site", current: current)
            } catch TopologyStoreError.taken(let field) {
                throw Self.taken(field)
            }
        }
        sites.delete(":site") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let site = try await self.site(tenant, context)
            try await Self.refusingInUse {
                guard try await self.store.deleteSite(tenant: tenant, id: UUID(uuidString: site.id)!, logger: context.logger) else {
                    throw Problem.notFound("no such site")
                }
            }
            return Response(status: .noContent)
        }
        sites.get(":site/buildings") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let site = try await self.site(tenant, context)
            let (buildings, next) = try await Self.pageByName(request) { after, limit in
                try await self.store.buildings(tenant: tenant, site: UUID(uuidString: site.id)!, after: after, limit: limit, logger: context.logger)
            } name: {
                $0.name
            }
            struct Page: Encodable {
                var buildings: [BuildingResource]
                var nextCursor: String?
            }
            return try Response.json(Page(buildings: buildings, nextCursor: next))
        }
        sites.post(":site/buildings") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let site = try await self.site(tenant, context)
            let body = try await request.jsonObject(maxBytes: Self.maxBodyBytes)
            var fields = JSONFields(body.object, allowed: ["name"])
            let name = fields.string("name", required: true)
            try fields.check("invalid building")
            guard let name else { throw Problem.badRequest("invalid building") }
            return try await self.create(
                request,
                body: body.bytes,
                tenant: tenant,
                operation: "buildings.create:\(site.id)",
                logger: context.logger,
                location: { (created: BuildingResource) in "/v1/tenants/\(tenant)/buildings/\(created.id)" }
            ) {
                do {
                    return try await self.store.createBuilding(tenant: tenant, site: UUID(uuidString: site.id)!, name: name, logger: context.logger)
                } catch TopologyStoreError.taken(let field) {
                    throw Self.taken(field)
                }
            }
        }
        sites.get(":site/units") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let site = try await self.site(tenant, context)
            var errors: [Problem.FieldError] = []
            let paging = Paging(request, defaultLimit: 100, maxLimit: Self.maxPageSize, errors: &errors) {
                Self.isDialNumber($0) ? $0 : nil
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid query", errors: errors) }
            var units = try await self.store.units(
                tenant: tenant,
                site: UUID(uuidString: site.id)!,
                after: paging.after,
                limit: paging.limit + 1,
                logger: context.logger
            )
            let next = paging.next(&units) { $0.dialNumber }
            struct Page: Encodable {
                var units: [UnitResource]
                var nextCursor: String?
            }
            return try Response.json(Page(units: units, nextCursor: next))
        }
        sites.post(":site/units") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let site = try await self.site(tenant, context)
            let body = try await request.jsonObject(maxBytes: Self.maxBodyBytes)
            var fields = JSONFields(body.object, allowed: ["buildingId", "dialNumber", "floor", "ringSeconds"])
            let building = fields.uuid("buildingId", required: true)
            let dial = fields.string("dialNumber", required: true, maxLength: 16)
            if let dial, !Self.isDialNumber(dial) { fields.fail("dialNumber", "must be 1 to 16 ASCII letters or digits") }
            let floor = fields.string("floor", maxLength: 16)
            let ring = fields.int("ringSeconds", in: 5...120) ?? 30
            try fields.check("invalid unit")
            guard let building, let dial else { throw Problem.badRequest("invalid unit") }
            return try await self.create(
                request,
                body: body.bytes,
                tenant: tenant,
                operation: "units.create:\(site.id)",
                logger: context.logger,
                location: { (created: UnitResource) in "/v1/tenants/\(tenant)/units/\(created.id)" }
            ) {
                do {
                    return try await self.store.createUnit(
                        tenant: tenant,
                        site: UUID(uuidString: site.id)!,
                        building: building,
                        dialNumber: dial,
                        floor: floor,
                        ringSeconds: ring,
                        logger: context.logger
                    )
                } catch TopologyStoreError.taken(let field) {
                    throw Self.taken(field)
                } catch TopologyStoreError.unknownReference(let field) {
                    throw Problem.badRequest("invalid unit", errors: [.init(field: field, message: "no such building in this site")])
                }
            }
        }
        sites.get(":site/doors") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let site = try await self.site(tenant, context)
            let (doors, next) = try await Self.pageByName(request) { after, limit in
                try await self.devices.doors(tenant: tenant, site: UUID(uuidString: site.id)!, after: after, limit: limit, logger: context.logger)
            } name: {
                $0.name
            }
            struct Page: Encodable {
                var doors: [DoorResource]
                var nextCursor: String?
            }
            return try Response.json(Page(doors: doors.map(DoorResource.init), nextCursor: next))
        }
        sites.post(":site/doors") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let site = try await self.site(tenant, context)
            let body = try await request.jsonObject(maxBytes: Self.maxBodyBytes)
            var fields = JSONFields(body.object, allowed: ["name", "kind", "buildingId"])
            let name = fields.string("name", required: true)
            let kind = fields.word("kind", of: Door.Kind.allCases.map(\.rawValue)).flatMap(Door.Kind.init(rawValue:)) ?? .door
            let building = fields.uuid("buildingId")
            try fields.check("invalid door")
            guard let name else { throw Problem.badRequest("invalid door") }
            return try await self.create(
                request,
                body: body.bytes,
                tenant: tenant,
                operation: "doors.create:\(site.id)",
                logger: context.logger,
                location: { (created: DoorResource) in "/v1/tenants/\(tenant)/doors/\(created.id)" }
            ) {
                do {
                    return DoorResource(
                        try await self.devices.createDoor(
                            tenant: tenant,
                            site: UUID(uuidString: site.id)!,
                            building: building,
                            name: name,
                            kind: kind,
                            logger: context.logger
                        )
                    )
                } catch DeviceStoreError.unknownReference(let field) {
                    throw Problem.badRequest("invalid door", errors: [.init(field: field, message: "no such building in this site")])
                }
            }
        }
        sites.put(":site/fallbacks") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let site = try await self.site(tenant, context)
            let (building, fallbacks) = try Self.fallbacks(try await Self.body(request))
            do {
                try await self.devices.setFallbacks(
                    tenant: tenant,
                    site: UUID(uuidString: site.id)!,
                    building: building,
                    fallbacks,
                    logger: context.logger
                )
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
                throw Problem.badRequest(
                    "invalid fallbacks",
                    errors: [.init(field: "steps", message: "names a building or person that does not exist in this tenant")]
                )
            }
            return Response(status: .noContent)
        }
        router.get("/v1/tenants/:tenant/units/:unit") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            guard let id = context.parameters.get("unit").flatMap(UUID.init(uuidString:)),
                let unit = try await self.store.unit(tenant: tenant, id: id, logger: context.logger)
            else { throw Problem.notFound("no such unit") }
            return try Response.json(unit, headers: [.eTag: "\"v\(unit.version)\""])
        }
        let doors = router.group("/v1/tenants/:tenant/doors")
        doors.get(":door") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let door = try await self.door(tenant, context)
            return try Response.json(DoorResource(door), headers: [.eTag: "\"v\(door.version)\""])
        }
        doors.patch(":door") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let door = try await self.door(tenant, context)
            let version = try Preconditions.expectedVersion(request, of: "door", current: door.version)
            let object = try await Self.patchBody(request)
            var fields = JSONFields(object, allowed: ["name", "kind", "buildingId"])
            var change = DeviceStore.DoorChange()
            change.name = fields.string("name")
            change.kind = fields.word("kind", of: Door.Kind.allCases.map(\.rawValue)).flatMap(Door.Kind.init(rawValue:))
            // Merge patch: null makes the door the site's (lobby, garage); absent leaves it.
            if object["buildingId"] is NSNull {
                change.building = .some(nil)
            } else if let building = fields.uuid("buildingId") {
                change.building = building
            }
            try fields.check("invalid door")
            do {
                guard
                    let updated = try await self.devices.updateDoor(
                        tenant: tenant,
                        id: door.id,
                        expectedVersion: version,
                        change,
                        logger: context.logger
                    )
                else { throw Problem.notFound("no such door") }
                return try Response.json(DoorResource(updated), headers: [.eTag: "\"v\(updated.version)\""])
            } catch DeviceStoreError.versionMismatch(let current) {
                throw Preconditions.stale("door", current: current)
            } catch DeviceStoreError.nameTaken {
                throw Self.taken("name")
            } catch DeviceStoreError.unknownReference(let field) {
                throw Problem.badRequest("invalid door", errors: [.init(field: field, message: "no such building in this site")])
            }
        }
        doors.delete(":door") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let door = try await self.door(tenant, context)
            do {
                guard try await self.devices.deleteDoor(tenant: tenant, id: door.id, logger: context.logger) else {
                    throw Problem.notFound("no such door")
                }
            } catch DeviceStoreError.inUse(let detail) {
                throw Problem(slug: "in-use", title: "In use", status: .conflict, detail: detail)
            }
            return Response(status: .noContent)
        }
        let buildings = router.group("/v1/tenants/:tenant/buildings")
        buildings.get(":building") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let building = try await self.building(tenant, context)
            return try Response.json(building, headers: [.eTag: "\"v\(building.version)\""])
        }
        buildings.patch(":building") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let building = try await self.building(tenant, context)
            let version = try Preconditions.expectedVersion(request, of: "building", current: building.version)
            var fields = JSONFields(try await Self.patchBody(request), allowed: ["name"])
            let name = fields.string("name", required: true)
            try fields.check("invalid building")
            guard let name else { throw Problem.badRequest("invalid building") }
            do {
                guard
                    let updated = try await self.store.updateBuilding(
                        tenant: tenant,
                        id: UUID(uuidString: building.id)!,
                        expectedVersion: version,
                        name: name,
                        logger: context.logger
                    )
                else { throw Problem.notFound("no such building") }
                return try Response.json(updated, headers: [.eTag: "\"v\(updated.version)\""])
            } catch TopologyStoreError.versionMismatch(let current) {
                throw Preconditions.stale("building", current: current)
            } catch TopologyStoreError.taken(let field) {
                throw Self.taken(field)
            }
        }
        buildings.delete(":building") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let building = try await self.building(tenant, context)
            try await Self.refusingInUse {
                guard try await self.store.deleteBuilding(tenant: tenant, id: UUID(uuidString: building.id)!, logger: context.logger) else {
                    throw Problem.notFound("no such building")
                }
            }
            return Response(status: .noContent)
        }
        router.patch("/v1/tenants/:tenant/units/:unit") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            guard let id = context.parameters.get("unit").flatMap(UUID.init(uuidString:)),
                let unit = try await self.store.unit(tenant: tenant, id: id, logger: context.logger)
            else { throw Problem.notFound("no such unit") }
            let version = try Preconditions.expectedVersion(request, of: "unit", current: unit.version)
            let object = try await Self.patchBody(request)
            var fields = JSONFields(object, allowed: ["buildingId", "dialNumber", "floor", "ringSeconds"])
            var change = TopologyStore.UnitChange(
                buildingId: fields.uuid("buildingId"),
                dialNumber: fields.string("dialNumber", maxLength: 16),
                ringSeconds: fields.int("ringSeconds", in: 5...120)
            )
            if let dial = change.dialNumber, !Self.isDialNumber(dial) { fields.fail("dialNumber", "must be 1 to 16 ASCII letters or digits") }
            if object["floor"] is NSNull {
                change.floor = .some(nil)
            } else if let floor = fields.string("floor", maxLength: 16) {
                change.floor = floor
            }
            try fields.check("invalid unit")
            do {
                guard let updated = try await self.store.updateUnit(tenant: tenant, id: id, expectedVersion: version, change, logger: context.logger)
                else { throw Problem.notFound("no such unit") }
                return try Response.json(updated, headers: [.eTag: "\"v\(updated.version)\""])
            } catch TopologyStoreError.versionMismatch(let current) {
                throw Preconditions.stale("unit", current: current)
            } catch TopologyStoreError.taken(let field) {
                throw Self.taken(field)
            } catch TopologyStoreError.unknownReference(let field) {
                throw Problem.badRequest("invalid unit", errors: [.init(field: field, message: "no such building in this site")])
            }
        }
        router.delete("/v1/tenants/:tenant/units/:unit") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            guard let id = context.parameters.get("unit").flatMap(UUID.init(uuidString:)) else { throw Problem.notFound("no such unit") }
            try await Self.refusingInUse {
                guard try await self.store.deleteUnit(tenant: tenant, id: id, logger: context.logger) else { throw Problem.notFound("no such unit") }
            }
            return Response(status: .noContent)
        }
        router.put("/v1/tenants/:tenant/units/:unit/residents/:person") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            guard let unit = context.parameters.get("unit").flatMap(UUID.init(uuidString:)),
                let person = context.parameters.get("person").flatMap(UUID.init(uuidString:))
            else { throw Problem.notFound("no such unit or person") }
            var fields = JSONFields(try await Self.body(request), allowed: ["role"])
            let role = fields.word("role", of: ["owner", "tenant", "occupant"], required: true)
            try fields.check("invalid residence")
            guard let role,
                try await self.store.setResident(tenant: tenant, unit: unit, person: person, role: role, logger: context.logger)
            else { throw Problem.notFound("no such unit or person") }
            return Response(status: .noContent)
        }
        // A move-out: the unit stops ringing the person's own devices as soon as signaling hears of
        // it. Idempotent: a person who does not live there (any more) is a 204 too.
        router.delete("/v1/tenants/:tenant/units/:unit/residents/:person") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            guard let unit = context.parameters.get("unit").flatMap(UUID.init(uuidString:)),
                let person = context.parameters.get("person").flatMap(UUID.init(uuidString:)),
                try await self.store.removeResident(tenant: tenant, unit: unit, person: person, logger: context.logger) != .unknown
            else { throw Problem.notFound("no such unit or person") }
            return Response(status: .noContent)
        }
    }

    /// One page of a list in name order (`limit`, `cursor`): loads one item more than the page to
    /// know whether another follows.
    static func pageByName<Item>(
        _ request: Request,
        load: (_ after: String?, _ limit: Int) async throws -> [Item],
        name: (Item) -> String
    ) async throws -> (items: [Item], next: String?) {
        var errors: [Problem.FieldError] = []
        let paging = Paging(request, defaultLimit: 100, maxLimit: Self.maxPageSize, errors: &errors, key: Self.nameCursor)
        if !errors.isEmpty { throw Problem.badRequest("invalid query", errors: errors) }
        var items = try await load(paging.after, paging.limit + 1)
        let next = paging.next(&items, key: name)
        return (items, next)
    }

    /// `{"buildingId": …?, "steps": [{"staffPersonId": …} | {"number": "+49…"}, "ringSeconds": …,
    /// "hours": "always" | "business" | "after_hours"]}`.
    static func fallbacks(_ object: [String: Any]) throws -> (UUID?, [DeviceStore.Fallback]) {
        var fields = JSONFields(object, allowed: ["buildingId", "steps"])
        let building = fields.uuid("buildingId")
        var fallbacks: [DeviceStore.Fallback] = []
        if let steps = object["steps"] as? [Any], steps.count <= 20 {
            for (index, step) in steps.enumerated() {
                guard let step = step as? [String: Any] else {
                    fields.fail("steps[\(index)]", "must be an object")
                    continue
                }
                var inner = JSONFields(step, allowed: ["staffPersonId", "number", "ringSeconds", "hours"])
                let person = inner.uuid("staffPersonId")
                let number = inner.string("number", maxLength: 16)
                if let number, number.wholeMatch(of: /\+[1-9][0-9]{6,14}/) == nil {
                    inner.fail("number", "must be an E.164 number such as +4930123456")
                }
                if (person == nil) == (number == nil) { inner.fail("staffPersonId", "give exactly one of staffPersonId and number") }
                let ring = inner.int("ringSeconds", in: 5...120) ?? 20
                let hoursName = inner.string("hours", maxLength: 16)
                let hours = hoursName.flatMap(RingStep.Hours.init(rawValue:)) ?? .always
                if hoursName != nil, hoursName.flatMap(RingStep.Hours.init(rawValue:)) == nil {
                    inner.fail("hours", "is always, business or after_hours")
                }
                for error in inner.errors { fields.fail("steps[\(index)].\(error.field)", error.message) }
                fallbacks.append(.init(position: index + 1, staff: person, number: number, ringSeconds: ring, hours: hours))
            }
        } else {
            fields.fail("steps", "is required: an array of at most 20 steps")
        }
        try fields.check("invalid fallbacks")
        return (building, fallbacks)
    }
}

/// A door as the API shows it.
package struct DoorResource: Codable, Sendable, Hashable {
    package var id: String
    package var siteId: String
    package var buildingId: String?
    package var name: String
    package var kind: String
    package var version: Int

    package init(_ door: Door) {
        self.id = door.id.lowercasedString
        self.siteId = door.siteId.lowercasedString
        self.buildingId = door.buildingId?.lowercasedString
        self.name = door.name
        self.kind = door.kind.rawValue
        self.version = door.version
    }
}
