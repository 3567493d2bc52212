package import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import PostgresNIO
package import ServiceKit

/// `/v1/tenants/{tenant}/devices`: door stations, residents' SIP phones and apps, indoor monitors.
/// Creating a device (or rotating its password) answers its SIP credentials once; identity keeps
/// only their digest HA1 values.
package struct DevicesAPI: Sendable {
    package static let maxBodyBytes = 16 * 1024
    package static let maxPageSize = 500

    let store: DeviceStore
    let idempotency: IdempotencyStore
    let keys: AuthKeys

    package init(client: PostgresClient, schema: String = IdentityService.schema, keys: AuthKeys) {
        self.store = DeviceStore(client: client, schema: schema)
        self.idempotency = IdempotencyStore(client: client, schema: schema)
        self.keys = keys
    }

    static let fields: Set<String> = ["siteId", "kind", "name", "vendor", "model", "doorId", "unitId", "personId", "sipUsername", "controlURL"]

    static func input(_ object: [String: Any]) throws -> DeviceInput {
        var fields = JSONFields(object, allowed: Self.fields)
        let site = fields.uuid("siteId", required: true)
        let kind = fields.word("kind", of: DeviceKind.allCases.map(\.rawValue), required: true).flatMap(DeviceKind.init(rawValue:))
        let name = fields.string("name", required: true)
        let vendor = fields.word("vendor", of: DeviceInput.vendors.sorted())
        let model = fields.string("model", maxLength: 100)
        let door = fields.uuid("doorId")
        let unit = fields.uuid("unitId")
        let person = fields.uuid("personId")
        let username = fields.string("sipUsername", maxLength: 64)
        if let username, username.wholeMatch(of: /[A-Za-z0-9._-]{3,64}/) == nil {
            fields.fail("sipUsername", "must be 3 to 64 letters, digits, '.', '_' or '-'")
        }
        let url = fields.string("controlURL", maxLength: 500)
        if let url, URL(string: url).map({ ["http", "https"].contains($0.scheme?.lowercased() ?? "") && $0.host != nil }) != true {
            fields.fail("controlURL", "must be an http or https URL")
        }
        switch kind {
        case .doorStation:
            if door == nil { fields.fail("doorId", "is required for a door station") }
            if unit != nil || person != nil { fields.fail("unitId", "a door station belongs to a door, not a unit or person") }
        case .sipPhone, .indoorMonitor:
            if door != nil { fields.fail("doorId", "is for door stations only") }
            if vendor != nil || url != nil { fields.fail("controlURL", "vendor and controlURL are for door stations only") }
            if unit == nil && person == nil { fields.fail("unitId", "give the unit or the person the device belongs to") }
        case nil: break
        }
        try fields.check("invalid device")
        guard let site, let kind, let name else { throw Problem.badRequest("invalid device") }
        return DeviceInput(
            siteId: site,
            kind: kind,
            name: name,
            vendor: kind == .doorStation ? vendor ?? "generic" : nil,
            model: model,
            doorId: door,
            unitId: unit,
            personId: person,
            sipUsername: username,
            controlURL: url
        )
    }

    func device(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> Device {
        guard let id = context.parameters.get("device").flatMap(UUID.init(uuidString:)),
            let device = try await self.store.get(tenant: tenant, id: id, logger: context.logger)
        else { throw Problem.notFound("no such device") }
        return device
    }

    package func register(on router: Router<BasicRequestContext>) {
        let devices = router.group("/v1/tenants/:tenant/devices")
        devices.get { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            let query = request.uri.queryParameters
            var errors: [Problem.FieldError] = []
            let paging = Paging(request, defaultLimit: 100, maxLimit: Self.maxPageSize, errors: &errors) { UUID(uuidString: $0) }
            var site: UUID?
            if let text = query["siteId"] {
                site = UUID(uuidString: String(text))
                if site == nil { errors.append(.init(field: "siteId", message: "must be a UUID")) }
            }
            var kind: DeviceKind?
            if let text = query["kind"] {
                kind = DeviceKind(rawValue: String(text))
                if kind == nil { errors.append(.init(field: "kind", message: "must be door_station, sip_phone or indoor_monitor")) }
            }
            if !errors.isEmpty { throw Problem.badRequest("invalid query", errors: errors) }
            var page = try await self.store.list(
                tenant: tenant,
                site: site,
                kind: kind,
                after: paging.after,
                limit: paging.limit + 1,
                logger: context.logger
            )
            let next = paging.next(&page) { $0.id.lowercasedString }
            struct Page: Encodable {
                var devices: [DeviceResource]
                var nextCursor: String?
            }
            return try Response.json(Page(devices: page.map { DeviceResource($0) }, nextCursor: next))
        }
        devices.post { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let body = try await request.jsonObject(maxBytes: Self.maxBodyBytes)
            let input = try Self.input(body.object)
            // The SIP password is shown once and never kept: a retry with the same Idempotency-Key
            // finds the device already made and is told where (decision 0019).
            return try await IdempotentCreate<DeviceResource>(store: self.idempotency, operation: "devices.create").runShowingSecretOnce(
                request,
                body: body.bytes,
                scope: tenant,
                logger: context.logger,
                respond: { device, status in
                    try Response.json(
                        device,
                        status: status,
                        headers: [.location: "/v1/tenants/\(tenant)/devices/\(device.id)", .cacheControl: "no-store"]
                    )
                },
                withoutSecret: { device in
                    var kept = device
                    kept.sipPassword = nil
                    return kept
                },
                made: { device in
                    """
                    /v1/tenants/\(tenant)/devices/\(device.id); its SIP password was shown once and is not kept: set a new one \
                    with POST …/devices/\(device.id)/sip-password
                    """
                },
                create: {
                    do {
                        let (device, credentials) = try await self.store.create(tenant: tenant, input, logger: context.logger)
                        return DeviceResource(device, credentials: credentials)
                    } catch DeviceStoreError.unknownReference(let field) {
                        throw Problem.badRequest("invalid device", errors: [.init(field: field, message: "does not exist in this site")])
                    } catch DeviceStoreError.sipUsernameTaken {
                        throw TopologyAPI.taken("sipUsername")
                    }
                }
            )
        }
        devices.get(":device") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityRead)
            return try Response.json(DeviceResource(try await self.device(tenant, context)))
        }
        devices.post(":device/sip-password") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let device = try await self.device(tenant, context)
            do {
                let (updated, credentials) = try await self.store.rotatePassword(tenant: tenant, id: device.id, logger: context.logger)
                return try Response.json(DeviceResource(updated, credentials: credentials), headers: [.cacheControl: "no-store"])
            } catch DeviceStoreError.notFound {
                throw Problem(slug: "revoked", title: "Revoked", status: .conflict, detail: "this device is revoked")
            }
        }
        devices.delete(":device") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .identityWrite)
            let device = try await self.device(tenant, context)
            _ = try await self.store.revoke(tenant: tenant, id: device.id, logger: context.logger)
            return Response(status: .noContent)
        }
    }
}

/// A device as the API shows it; `sipPassword` only in the answer that made it.
package struct DeviceResource: Codable, Sendable, Hashable {
    package var id: String
    package var siteId: String
    package var kind: String
    package var name: String
    package var vendor: String?
    package var model: String?
    package var doorId: String?
    package var unitId: String?
    package var personId: String?
    package var sipUsername: String
    package var sipRealm: String
    package var sipPassword: String?
    package var controlURL: String?
    package var online: Bool
    package var lastSeenAt: Date?
    package var revokedAt: Date?
    package var version: Int
    package var createdAt: Date

    package init(_ device: Device, credentials: SIPCredentials? = nil) {
        self.id = device.id.lowercasedString
        self.siteId = device.siteId.lowercasedString
        self.kind = device.kind.rawValue
        self.name = device.name
        self.vendor = device.vendor
        self.model = device.model
        self.doorId = device.doorId?.lowercasedString
        self.unitId = device.unitId?.lowercasedString
        self.personId = device.personId?.lowercasedString
        self.sipUsername = device.sipUsername
        self.sipRealm = device.sipRealm
        self.sipPassword = credentials?.password
        self.controlURL = device.controlURL
        self.online = device.online
        self.lastSeenAt = device.lastSeenAt
        self.revokedAt = device.revokedAt
        self.version = device.version
        self.createdAt = device.createdAt
    }
}
