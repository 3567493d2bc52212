import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import ServiceKit

/// `/v1/tenants/{tenant}/passes`: visitor passes (a PIN and a QR code for a guest, contractor or
/// courier), and `/v1/tenants/{tenant}/sites/{site}/access-settings` (PIN length, lockdown).
package struct PassesAPI: Sendable {
    package static let maxBodyBytes = 16 * 1024

    let commander: DoorCommander
    let passes: PassStore
    let keys: AuthKeys

    package init(commander: DoorCommander, passes: PassStore, keys: AuthKeys) {
        self.commander = commander
        self.passes = passes
        self.keys = keys
    }

    static let fields: Set<String> = ["hostPersonId", "kind", "label", "doorIds", "validFrom", "validUntil", "maxUses", "oneTime", "schedule"]

    static func isAdministrator(_ principal: Principal) -> Bool { principal.role == .operatorAdmin || principal.role == .tenantAdmin }

    func resource(_ pass: Pass, pin: String? = nil, qr: String? = nil, timeZone: String) throws -> Response {
        var object: [String: Any] = [
            "id": pass.id.lowercasedString, "siteId": pass.siteId.lowercasedString, "hostPersonId": pass.hostPersonId.lowercasedString,
            "kind": pass.kind, "doorIds": pass.doorIds.map(\.lowercasedString), "validFrom": WireCoding.format(pass.validFrom),
            "validUntil": WireCoding.format(pass.validUntil), "uses": pass.uses, "revoked": pass.revokedAt != nil, "timeZone": timeZone,
        ]
        if let label = pass.label { object["label"] = label }
        if let maxUses = pass.maxUses { object["maxUses"] = maxUses }
        if let schedule = pass.schedule { object["schedule"] = schedule.json }
        if let pin { object["pin"] = pin }
        if let qr { object["qr"] = qr }
        return try Response.json(object: object, status: pin == nil ? .ok : .created, headers: [.cacheControl: "no-store"])
    }

    /// The pass the caller may see: its host or an administrator; anyone else gets 404.
    func visiblePass(_ request: Request, _ context: BasicRequestContext) async throws -> (TenantID, Pass) {
        let (tenant, principal) = try self.keys.authorize(request, context: context, scope: .accessPasses)
        guard let id = context.parameters.get("pass").flatMap(UUID.init(uuidString:)),
            let pass = try await self.passes.get(tenant: tenant, id: id, logger: context.logger),
            Self.isAdministrator(principal) || principal.claims.sub == pass.hostPersonId.lowercasedString
        else { throw Problem.notFound("no such pass") }
        return (tenant, pass)
    }

    static func show(_ settings: SiteSettings) throws -> Response {
        struct Shown: Encodable {
            var pinDigits: Int
            var lockdown: Bool
            var lockdownSince: Date?
            var version: Int
        }
        return try Response.json(
            Shown(
                pinDigits: settings.pinDigits,
                lockdown: settings.lockdownSince != nil,
                lockdownSince: settings.lockdownSince,
                version: settings.version
            )
        )
    }

    /// The QR token of a pass that still opens something (a revoked pass has none: 409).
    func token(_ tenant: TenantID, _ pass: Pass) throws -> String {
        guard pass.revokedAt == nil else { throw Problem(slug: "revoked", title: "Revoked", status: .conflict, detail: "this pass is revoked") }
        return try self.passes.token(tenant: tenant, pass)
    }

    func symbol(_ tenant: TenantID, _ pass: Pass) throws -> QRSymbol {
        guard let symbol = QRSymbol(try self.token(tenant, pass)) else { throw Problem.internalError }
        return symbol
    }

    /// The site of the path: one of the tenant's (404 otherwise).
    func site(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> UUID {
        guard let id = context.parameters.get("site").flatMap(UUID.init(uuidString:)), try await self.commander.site(tenant: tenant, id: id) != nil
        else { throw Problem.notFound("no such site") }
        return id
    }

    package func register(on router: Router<BasicRequestContext>) {
        let passes = router.group("/v1/tenants/:tenant/passes")
        passes.post { request, context in
            let (tenant, principal) = try self.keys.authorize(request, context: context, scope: .accessPasses)
            let object = try await request.jsonObject(maxBytes: Self.maxBodyBytes).object
            var fields = JSONFields(object, allowed: Self.fields)
            let administrator = Self.isAdministrator(principal)
            var host = fields.uuid("hostPersonId", required: administrator)
            if !administrator {
                let me = UUID(uuidString: principal.claims.sub)
                if host != nil, host != me { fields.fail("hostPersonId", "you can only invite as yourself") }
                host = me
            }
            let kind = fields.word("kind", of: Pass.kinds, required: true)
            let label = fields.string("label", maxLength: 100)
            var doorIds: [UUID] = []
            if let list = object["doorIds"] as? [String], (1...Pass.maxDoors).contains(list.count),
                case let ids = list.compactMap(UUID.init(uuidString:)), ids.count == list.count, Set(ids).count == ids.count
            {
                doorIds = ids
            } else {
                fields.fail("doorIds", "must list 1 to \(Pass.maxDoors) different door ids")
            }
            var maxUses = fields.int("maxUses", in: Pass.maxUses)
            if fields.bool("oneTime") == true {
                if let uses = maxUses, uses != 1 { fields.fail("oneTime", "a one-time pass has maxUses 1") }
                maxUses = 1
            }
            var schedule: WeeklySchedule?
            if let value = object["schedule"], !(value is NSNull) {
                switch WeeklySchedule.parse(value) {
                case .success(let parsed): schedule = parsed
                case .failure(let error): fields.fail("schedule", error.message)
                }
            }
            let fromText = fields.string("validFrom", maxLength: 40)
            let untilText = fields.string("validUntil", required: true, maxLength: 40)
            try fields.check("invalid pass")
            guard let host, let kind, let untilText else { throw Problem.badRequest("invalid pass") }

            // The doors: all of one site, each one the host may open.
            var doors: [DoorInfo] = []
            for id in doorIds {
                guard let door = try await self.commander.door(tenant: tenant, id: id) else {
                    throw Problem.badRequest(
                        "invalid pass",
                        errors: [.init(field: "doorIds", message: "\(id.lowercasedString) is not a door of this tenant")]
                    )
                }
                doors.append(door)
            }
            let site = doors[0].siteId
            guard doors.allSatisfy({ $0.siteId == site }) else {
                throw Problem.badRequest("invalid pass", errors: [.init(field: "doorIds", message: "all doors must be at one site")])
            }
            if !administrator {
                let person: PersonInfo
                do {
                    person = try await self.commander.bus.request(PersonLookup(personId: host), tenant: tenant)
                } catch let error as WireError where error.code == .notFound {
                    throw Problem.forbidden("the token names no person of this tenant")
                }
                let refused = doors.filter { !DoorAuthority.decide(person: person, door: $0).grants }
                if !refused.isEmpty {
                    var problem = Problem(
                        slug: "access-denied",
                        title: "Access denied",
                        status: .forbidden,
                        detail: "a pass can only open doors its host may open",
                        errors: refused.map { .init(field: "doorIds", message: "you may not open \($0.id.lowercasedString)") }
                    )
                    problem.reason = AccessReason.noAuthority.rawValue
                    throw problem
                }
            }
            // Times: with an offset, or the site's wall clock.
            let zone = TimeZone(identifier: doors[0].timeZone) ?? .gmt
            var errors: [Problem.FieldError] = []
            func instant(_ text: String, _ field: String) -> Date? {
                switch SiteTime.instant(text, in: zone) {
                case .success(let date): return date
                case .failure(.skipped):
                    errors.append(.init(field: field, message: "\(text) does not exist in \(zone.identifier): the clocks skip it"))
                case .failure(.malformed):
                    errors.append(.init(field: field, message: "must be 2026-05-01T09:00 (site time) or an RFC 3339 time with offset"))
                }
                return nil
            }
            // No validFrom: valid from now.
            let from = fromText.map { instant($0, "validFrom") } ?? Date()
            let until = instant(untilText, "validUntil")
            if let from, let until {
                if until <= from { errors.append(.init(field: "validUntil", message: "must be after validFrom")) }
                if until.timeIntervalSince(from) > Pass.maxValidity {
                    errors.append(.init(field: "validUntil", message: "a pass lasts at most 366 days"))
                }
                if until <= Date() { errors.append(.init(field: "validUntil", message: "is in the past")) }
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid pass", errors: errors) }
            guard let from, let until else { throw Problem.badRequest("invalid pass") }
            let settings = try await self.commander.settings.get(tenant: tenant, site: site, logger: context.logger)
            let input = PassInput(
                siteId: site,
                hostPersonId: host,
                kind: kind,
                label: label,
                doorIds: doorIds,
                validFrom: from,
                validUntil: until,
                maxUses: maxUses,
                schedule: schedule
            )
            do {
                let (pass, pin, qr) = try await self.passes.create(tenant: tenant, input, pinDigits: settings.pinDigits, logger: context.logger)
                var response = try self.resource(pass, pin: pin, qr: qr, timeZone: zone.identifier)
                response.headers[.location] = "/v1/tenants/\(tenant)/passes/\(pass.id.lowercasedString)"
                return response
            } catch PassStoreError.noFreePIN {
                throw Problem(
                    slug: "conflict",
                    title: "Conflict",
                    status: .conflict,
                    detail: "no free PIN for these doors and times; use longer PINs"
                )
            }
        }
        passes.get(":pass") { request, context in
            let (tenant, pass) = try await self.visiblePass(request, context)
            let zone = try await self.commander.door(tenant: tenant, id: pass.doorIds[0])?.timeZone ?? "UTC"
            return try self.resource(pass, timeZone: zone)
        }
        passes.get(":pass/qr") { request, context in
            let (tenant, pass) = try await self.visiblePass(request, context)
            struct QR: Encodable { var qr: String }
            return try Response.json(QR(qr: try self.token(tenant, pass)), headers: [.cacheControl: "no-store"])
        }
        // The QR code as images for the guest's invitation (libqrencode), shown to its host only.
        passes.get(":pass/qr.svg") { request, context in
            let (tenant, pass) = try await self.visiblePass(request, context)
            let symbol = try self.symbol(tenant, pass)
            return Response(
                status: .ok,
                headers: [.contentType: "image/svg+xml", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: symbol.svg))
            )
        }
        passes.get(":pass/qr.png") { request, context in
            let (tenant, pass) = try await self.visiblePass(request, context)
            var scale = 8
            if let text = request.uri.queryParameters["scale"] {
                guard let value = Int(text), QRSymbol.scales.contains(value) else {
                    throw Problem.badRequest("invalid query", errors: [.init(field: "scale", message: "must be an integer from 1 to 16")])
                }
                scale = value
            }
            let symbol = try self.symbol(tenant, pass)
            return Response(
                status: .ok,
                headers: [.contentType: "image/png", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: symbol.png(scale: scale)))
            )
        }
        passes.delete(":pass") { request, context in
            let (tenant, pass) = try await self.visiblePass(request, context)
            _ = try await self.passes.revoke(tenant: tenant, id: pass.id, logger: context.logger)
            return Response(status: .noContent)
        }

        let settings = router.group("/v1/tenants/:tenant/sites/:site/access-settings")
        settings.get { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            let site = try await self.site(tenant, context)
            return try Self.show(try await self.commander.settings.get(tenant: tenant, site: site, logger: context.logger))
        }
        settings.put { request, context in
            let (tenant, principal) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            let site = try await self.site(tenant, context)
            var fields = JSONFields(try await request.jsonObject(maxBytes: 1024).object, allowed: ["pinDigits", "lockdown"])
            let digits = fields.int("pinDigits", in: SiteSettings.pinDigitsRange)
            let lockdown = fields.bool("lockdown")
            try fields.check("invalid settings")
            return try Self.show(
                try await self.commander.settings.put(
                    tenant: tenant,
                    site: site,
                    pinDigits: digits,
                    lockdown: lockdown,
                    by: UUID(uuidString: principal.claims.sub),
                    logger: context.logger
                )
            )
        }
    }
}
