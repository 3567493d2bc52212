import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import ServiceKit

/// A site's access policies, all under `access:configure`: access groups and their members
/// (`/v1/tenants/{tenant}/sites/{site}/access-groups`), the holiday calendar (`…/holidays`), door
/// exceptions (`…/door-exceptions`) and each door's hours and free-access windows
/// (`/v1/tenants/{tenant}/doors/{door}/policy`).
package struct PoliciesAPI: Sendable {
    let commander: DoorCommander
    let keys: AuthKeys

    package init(commander: DoorCommander, keys: AuthKeys) {
        self.commander = commander
        self.keys = keys
    }

    var policies: PolicyStore { self.commander.policies }

    /// The tenant, the site of the path (one of the tenant's: 404 otherwise), and who acts.
    func site(_ request: Request, _ context: BasicRequestContext) async throws -> (TenantID, SiteInfo, actor: UUID?) {
        let (tenant, principal) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
        guard let id = context.parameters.get("site").flatMap(UUID.init(uuidString:)),
            let site = try await self.commander.site(tenant: tenant, id: id)
        else { throw Problem.notFound("no such site") }
        return (tenant, site, UUID(uuidString: principal.claims.sub))
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response { try Response.json(object: object, status: status) }

    static func resource(_ group: AccessGroup) -> [String: Any] {
        [
            "id": group.id.lowercasedString, "siteId": group.siteId.lowercasedString, "name": group.name,
            "doorIds": group.doorIds.map(\.lowercasedString), "schedule": group.schedule?.json ?? NSNull(),
        ]
    }

    static func resource(_ exception: DoorException) -> [String: Any] {
        [
            "id": exception.id.lowercasedString, "siteId": exception.siteId.lowercasedString,
            "doorId": exception.doorId?.lowercasedString ?? NSNull(), "startsAt": WireCoding.format(exception.startsAt),
            "endsAt": WireCoding.format(exception.endsAt), "mode": exception.mode.rawValue, "note": exception.note ?? NSNull(),
        ]
    }

    static func resource(_ policy: DoorPolicy, door: DoorInfo) -> [String: Any] {
        [
            "doorId": door.id.lowercasedString, "siteId": door.siteId.lowercasedString, "timeZone": door.timeZone,
            "hours": policy.hours?.json ?? NSNull(), "freeAccess": policy.freeAccess?.json ?? NSNull(),
        ]
    }

    /// The call hours with what they say now (`afterHoursNow`), on the site's wall clock.
    static func resource(_ policy: CallHoursPolicy, site: SiteInfo, holidays: HolidayCalendar) -> [String: Any] {
        let zone = TimeZone(identifier: site.timeZone) ?? .gmt
        var resource = policy.json
        resource["siteId"] = site.id.lowercasedString
        resource["timeZone"] = site.timeZone
        resource["afterHoursNow"] = policy.state(at: Date(), timeZone: zone, holidays: holidays).afterHours
        return resource
    }

    /// A schedule field: absent or null is `nil`; anything else must parse.
    static func schedule(_ object: [String: Any], _ field: String, _ fields: inout JSONFields) -> WeeklySchedule? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        switch WeeklySchedule.parse(value) {
        case .success(let schedule): return schedule
        case .failure(let error):
            fields.fail(field, error.message)
            return nil
        }
    }

    /// The group described by a body: its doors must be doors of the tenant at `site`.
    func group(_ object: [String: Any], id: UUID, tenant: TenantID, site: UUID) async throws -> AccessGroup {
        var fields = JSONFields(object, allowed: ["name", "doorIds", "schedule"])
        let name = fields.string("name", required: true, maxLength: 100)
        var doorIds: [UUID] = []
        if let list = object["doorIds"] as? [String], (1...AccessGroup.maxDoors).contains(list.count),
            case let ids = list.compactMap(UUID.init(uuidString:)), ids.count == list.count, Set(ids).count == ids.count
        {
            doorIds = ids
        } else {
            fields.fail("doorIds", "must list 1 to \(AccessGroup.maxDoors) different door ids")
        }
        let schedule = Self.schedule(object, "schedule", &fields)
        try fields.check("invalid access group")
        var errors: [Problem.FieldError] = []
        for door in doorIds where try await self.commander.door(tenant: tenant, id: door)?.siteId != site {
            errors.append(.init(field: "doorIds", message: "\(door.lowercasedString) is not a door of this site"))
        }
        if !errors.isEmpty { throw Problem.badRequest("invalid access group", errors: errors) }
        return AccessGroup(id: id, siteId: site, name: name ?? "", doorIds: doorIds, schedule: schedule)
    }

    static let duplicateName = Problem(slug: "conflict", title: "Conflict", status: .conflict, detail: "the site has another group of this name")
    static let tooManyGroups = Problem(
        slug: "conflict",
        title: "Conflict",
        status: .conflict,
        detail: "a site has at most \(AccessGroup.maxPerSite) access groups"
    )

    package func register(on router: Router<BasicRequestContext>) {
        let groups = router.group("/v1/tenants/:tenant/sites/:site/access-groups")
        groups.get { request, context in
            let (tenant, siteInfo, _) = try await self.site(request, context)
            let site = siteInfo.id
            let list = try await self.policies.groups(tenant: tenant, site: site, logger: context.logger)
            return try Self.json(["groups": list.map(Self.resource)])
        }
        groups.post { request, context in
            let (tenant, siteInfo, actor) = try await self.site(request, context)
            let site = siteInfo.id
            let group = try await self.group(try await request.jsonObject(maxBytes: 8192).object, id: UUID(), tenant: tenant, site: site)
            do {
                guard let created = try await self.policies.put(tenant: tenant, group, creating: true, by: actor, logger: context.logger) else {
                    throw Self.duplicateName
                }
                var response = try Self.json(Self.resource(created), status: .created)
                response.headers[.location] = "/v1/tenants/\(tenant)/sites/\(site.lowercasedString)/access-groups/\(created.id.lowercasedString)"
                return response
            } catch PolicyStoreError.duplicateName {
                throw Self.duplicateName
            } catch PolicyStoreError.tooMany {
                throw Self.tooManyGroups
            }
        }
        groups.get(":group") { request, context in
            let (tenant, siteInfo, _) = try await self.site(request, context)
            let site = siteInfo.id
            guard let id = context.parameters.get("group").flatMap(UUID.init(uuidString:)),
                let group = try await self.policies.group(tenant: tenant, site: site, id: id, logger: context.logger)
            else { throw Problem.notFound("no such access group") }
            var object = Self.resource(group)
            object["memberIds"] = try await self.policies.members(tenant: tenant, group: id, logger: context.logger).map(\.lowercasedString)
            return try Self.json(object)
        }
        groups.put(":group") { request, context in
            let (tenant, siteInfo, actor) = try await self.site(request, context)
            let site = siteInfo.id
            guard let id = context.parameters.get("group").flatMap(UUID.init(uuidString:)),
                try await self.policies.group(tenant: tenant, site: site, id: id, logger: context.logger) != nil
            else { throw Problem.notFound("no such access group") }
            let group = try await self.group(try await request.jsonObject(maxBytes: 8192).object, id: id, tenant: tenant, site: site)
            do {
                guard let updated = try await self.policies.put(tenant: tenant, group, creating: false, by: actor, logger: context.logger) else {
                    throw Problem.notFound("no such access group")
                }
                return try Self.json(Self.resource(updated))
            } catch PolicyStoreError.duplicateName {
                throw Self.duplicateName
            }
        }
        groups.delete(":group") { request, context in
            let (tenant, siteInfo, actor) = try await self.site(request, context)
            let site = siteInfo.id
            guard let id = context.parameters.get("group").flatMap(UUID.init(uuidString:)),
                try await self.policies.deleteGroup(tenant: tenant, site: site, id: id, by: actor, logger: context.logger)
            else { throw Problem.notFound("no such access group") }
            return Response(status: .noContent)
        }
        // Members: PUT adds, DELETE removes (both idempotent for an existing group and person).
        for add in [true, false] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                let (tenant, siteInfo, actor) = try await self.site(request, context)
                let site = siteInfo.id
                guard let id = context.parameters.get("group").flatMap(UUID.init(uuidString:)),
                    try await self.policies.group(tenant: tenant, site: site, id: id, logger: context.logger) != nil
                else { throw Problem.notFound("no such access group") }
                guard let person = context.parameters.get("person").flatMap(UUID.init(uuidString:)) else { throw Problem.notFound("no such person") }
                if add {
                    do {
                        _ = try await self.commander.bus.request(PersonLookup(personId: person), tenant: tenant)
                    } catch let error as WireError where error.code == .notFound {
                        throw Problem.notFound("no such person")
                    }
                }
                _ = try await self.policies.setMember(
                    tenant: tenant,
                    site: site,
                    group: id,
                    person: person,
                    member: add,
                    by: actor,
                    logger: context.logger
                )
                return Response(status: .noContent)
            }
            if add { groups.put(":group/members/:person", use: handler) } else { groups.delete(":group/members/:person", use: handler) }
        }

        let holidays = router.group("/v1/tenants/:tenant/sites/:site/holidays")
        holidays.get { request, context in
            let (tenant, siteInfo, _) = try await self.site(request, context)
            let site = siteInfo.id
            let calendar = try await self.policies.holidays(tenant: tenant, site: site, logger: context.logger)
            return try Self.json(["holidays": calendar.days.sorted { $0.key < $1.key }.map { ["date": $0.key.description, "name": $0.value] }])
        }
        holidays.put { request, context in
            let (tenant, siteInfo, actor) = try await self.site(request, context)
            let site = siteInfo.id
            let object = try await request.jsonObject(maxBytes: 16 * 1024).object
            var fields = JSONFields(object, allowed: ["holidays"])
            var calendar = HolidayCalendar()
            if let list = object["holidays"] as? [Any], list.count <= HolidayCalendar.maxDays {
                for (index, item) in list.enumerated() {
                    guard let entry = item as? [String: Any], Set(entry.keys) == ["date", "name"], let text = entry["date"] as? String,
                        let date = LocalDate(text), let name = entry["name"] as? String, (1...100).contains(name.unicodeScalars.count),
                        !name.containsControlCharacters
                    else {
                        fields.fail("holidays[\(index)]", #"must be {"date": "YYYY-MM-DD", "name": 1 to 100 characters}"#)
                        continue
                    }
                    if calendar.days[date] != nil { fields.fail("holidays[\(index)]", "\(date) is listed twice") }
                    calendar.days[date] = name
                }
            } else {
                fields.fail("holidays", "must be a list of at most \(HolidayCalendar.maxDays) holidays")
            }
            try fields.check("invalid holidays")
            try await self.policies.putHolidays(tenant: tenant, site: site, calendar, by: actor, logger: context.logger)
            return try Self.json(["holidays": calendar.days.sorted { $0.key < $1.key }.map { ["date": $0.key.description, "name": $0.value] }])
        }

        // When calls ring whom (decision 0021): GET answers 404 while the site has none.
        let callHours = router.group("/v1/tenants/:tenant/sites/:site/call-hours")
        callHours.get { request, context in
            let (tenant, site, _) = try await self.site(request, context)
            let sitePolicy = try await self.policies.site(tenant: tenant, site: site.id, logger: context.logger)
            guard let policy = sitePolicy.callHours else { throw Problem.notFound("the site has no call hours: it is always business hours") }
            return try Self.json(Self.resource(policy, site: site, holidays: sitePolicy.holidays))
        }
        callHours.put { request, context in
            let (tenant, site, actor) = try await self.site(request, context)
            let object = try await request.jsonObject(maxBytes: 8192).object
            var fields = JSONFields(object, allowed: ["hours", "unitsAfterHours"])
            let hours = Self.schedule(object, "hours", &fields)
            if hours == nil, fields.errors.isEmpty { fields.fail("hours", "is required: the windows of business hours") }
            let units = fields.string("unitsAfterHours", maxLength: 8) ?? "ring"
            if !["ring", "skip"].contains(units) { fields.fail("unitsAfterHours", "is ring or skip") }
            try fields.check("invalid call hours")
            let policy = CallHoursPolicy(hours: hours ?? WeeklySchedule(windows: []), unitsRingAfterHours: units == "ring")
            try await self.policies.putCallHours(tenant: tenant, site: site.id, policy, by: actor, logger: context.logger)
            let holidays = try await self.policies.holidays(tenant: tenant, site: site.id, logger: context.logger)
            return try Self.json(Self.resource(policy, site: site, holidays: holidays))
        }
        callHours.delete { request, context in
            let (tenant, site, actor) = try await self.site(request, context)
            try await self.policies.putCallHours(tenant: tenant, site: site.id, nil, by: actor, logger: context.logger)
            return Response(status: .noContent)
        }

        let exceptions = router.group("/v1/tenants/:tenant/sites/:site/door-exceptions")
        exceptions.get { request, context in
            let (tenant, siteInfo, _) = try await self.site(request, context)
            let site = siteInfo.id
            let list = try await self.policies.exceptions(tenant: tenant, site: site, logger: context.logger)
            return try Self.json(["exceptions": list.map(Self.resource)])
        }
        exceptions.post { request, context in
            let (tenant, siteInfo, actor) = try await self.site(request, context)
            let site = siteInfo.id
            let object = try await request.jsonObject(maxBytes: 4096).object
            var fields = JSONFields(object, allowed: ["doorId", "startsAt", "endsAt", "mode", "note"])
            let doorId = fields.uuid("doorId")
            let mode = fields.word("mode", of: DoorException.Mode.allCases.map(\.rawValue), required: true).flatMap(DoorException.Mode.init)
            let startsText = fields.string("startsAt", required: true, maxLength: 40)
            let endsText = fields.string("endsAt", required: true, maxLength: 40)
            let note = fields.string("note", maxLength: 200)
            try fields.check("invalid door exception")
            // Times on the site's wall clock (or with an offset).
            let zone = TimeZone(identifier: siteInfo.timeZone) ?? .gmt
            if let doorId {
                guard let door = try await self.commander.door(tenant: tenant, id: doorId), door.siteId == site else {
                    throw Problem.badRequest("invalid door exception", errors: [.init(field: "doorId", message: "is not a door of this site")])
                }
            }
            var errors: [Problem.FieldError] = []
            func instant(_ text: String?, _ field: String) -> Date? {
                guard let text else { return nil }
                switch SiteTime.instant(text, in: zone) {
                case .success(let date): return date
                case .failure(.skipped):
                    errors.append(.init(field: field, message: "\(text) does not exist in \(zone.identifier): the clocks skip it"))
                case .failure(.malformed): errors.append(.init(field: field, message: "must be 2026-05-01T09:00 (site time) or RFC 3339 with offset"))
                }
                return nil
            }
            let starts = instant(startsText, "startsAt")
            let ends = instant(endsText, "endsAt")
            if let starts, let ends {
                if ends <= starts { errors.append(.init(field: "endsAt", message: "must be after startsAt")) }
                if ends.timeIntervalSince(starts) > DoorException.maxLength {
                    errors.append(.init(field: "endsAt", message: "an exception lasts at most 366 days"))
                }
                if ends <= Date() { errors.append(.init(field: "endsAt", message: "is in the past")) }
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid door exception", errors: errors) }
            guard let starts, let ends, let mode else { throw Problem.badRequest("invalid door exception") }
            let exception = DoorException(id: UUID(), siteId: site, doorId: doorId, startsAt: starts, endsAt: ends, mode: mode, note: note)
            do {
                try await self.policies.addException(tenant: tenant, exception, by: actor, logger: context.logger)
            } catch PolicyStoreError.tooMany {
                throw Problem(
                    slug: "conflict",
                    title: "Conflict",
                    status: .conflict,
                    detail: "a site has at most \(PolicyStore.maxOpenExceptions) exceptions that have not ended"
                )
            }
            var response = try Self.json(Self.resource(exception), status: .created)
            response.headers[.location] = "/v1/tenants/\(tenant)/sites/\(site.lowercasedString)/door-exceptions/\(exception.id.lowercasedString)"
            return response
        }
        exceptions.delete(":exception") { request, context in
            let (tenant, siteInfo, actor) = try await self.site(request, context)
            let site = siteInfo.id
            guard let id = context.parameters.get("exception").flatMap(UUID.init(uuidString:)),
                try await self.policies.deleteException(tenant: tenant, site: site, id: id, by: actor, logger: context.logger)
            else { throw Problem.notFound("no such door exception") }
            return Response(status: .noContent)
        }

        let policy = router.group("/v1/tenants/:tenant/doors/:door/policy")
        policy.get { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            guard let id = context.parameters.get("door").flatMap(UUID.init(uuidString:)),
                let door = try await self.commander.door(tenant: tenant, id: id)
            else { throw Problem.notFound("no such door") }
            return try Self.json(Self.resource(try await self.policies.doorPolicy(tenant: tenant, door: id, logger: context.logger), door: door))
        }
        policy.put { request, context in
            let (tenant, principal) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            guard let id = context.parameters.get("door").flatMap(UUID.init(uuidString:)),
                let door = try await self.commander.door(tenant: tenant, id: id)
            else { throw Problem.notFound("no such door") }
            let object = try await request.jsonObject(maxBytes: 8192).object
            var fields = JSONFields(object, allowed: ["hours", "freeAccess"])
            let updated = DoorPolicy(hours: Self.schedule(object, "hours", &fields), freeAccess: Self.schedule(object, "freeAccess", &fields))
            try fields.check("invalid door policy")
            try await self.policies.putDoorPolicy(
                tenant: tenant,
                door: door,
                updated,
                by: UUID(uuidString: principal.claims.sub),
                logger: context.logger
            )
            return try Self.json(Self.resource(updated, door: door))
        }
    }
}
