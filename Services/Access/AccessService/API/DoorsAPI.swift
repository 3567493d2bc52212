import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import ServiceKit

/// `/v1/tenants/{tenant}/doors/{door}/…` on access control's admin API: how a door is driven
/// (`controller`) and opening it (`unlock`).
package struct DoorsAPI: Sendable {
    package static let maxBodyBytes = 8 * 1024

    let commander: DoorCommander
    let controllers: DoorControllerStore
    let keys: AuthKeys

    package init(commander: DoorCommander, controllers: DoorControllerStore, keys: AuthKeys) {
        self.commander = commander
        self.controllers = controllers
        self.keys = keys
    }

    /// A controller as the API shows it: the secret never leaves, only whether one is set.
    struct ControllerResource: Encodable {
        var doorId: String
        var stationDeviceId: String?
        var relay: Int
        var username: String?
        var hasSecret: Bool
        var verifyTLS: Bool
        var deadlineMs: Int?
        var version: Int

        init(_ controller: DoorController) {
            self.doorId = controller.doorId.lowercasedString
            self.stationDeviceId = controller.stationDeviceId?.lowercasedString
            self.relay = controller.relay
            self.username = controller.username
            self.hasSecret = controller.secret != nil
            self.verifyTLS = controller.verifyTLS
            self.deadlineMs = controller.deadlineMilliseconds
            self.version = controller.version
        }
    }

    static let fields: Set<String> = ["stationDeviceId", "relay", "username", "secret", "verifyTLS", "deadlineMs"]

    /// The body of `PUT …/controller`; `secret` absent keeps the stored one.
    static func controller(_ object: [String: Any], door: DoorInfo) throws -> (DoorController, keepSecret: Bool) {
        var fields = JSONFields(object, allowed: Self.fields)
        let station = fields.uuid("stationDeviceId")
        if let station, !door.stations.contains(where: { $0.deviceId == station }) {
            fields.fail("stationDeviceId", "is not a door station of this door")
        }
        let relay = fields.int("relay", in: DoorController.relays) ?? 1
        let username = fields.string("username", maxLength: DoorController.maxUsernameBytes)
        let secret = fields.string("secret", maxLength: DoorController.maxSecretBytes)
        let verify = fields.bool("verifyTLS") ?? true
        let deadline = fields.int("deadlineMs", in: AccessConfiguration.deadlineRange)
        try fields.check("invalid controller")
        return (
            DoorController(
                doorId: door.id,
                stationDeviceId: station,
                relay: relay,
                username: username,
                secret: secret,
                verifyTLS: verify,
                deadlineMilliseconds: deadline
            ),
            secret == nil
        )
    }

    func door(_ tenant: TenantID, _ context: BasicRequestContext) async throws -> DoorInfo {
        guard let id = context.parameters.get("door").flatMap(UUID.init(uuidString:)),
            let door = try await self.commander.door(tenant: tenant, id: id)
        else { throw Problem.notFound("no such door") }
        return door
    }

    package func register(on router: Router<BasicRequestContext>) {
        let doors = router.group("/v1/tenants/:tenant/doors/:door")
        doors.get("controller") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            let door = try await self.door(tenant, context)
            guard let controller = try await self.controllers.get(tenant: tenant, door: door.id, logger: context.logger) else {
                throw Problem.notFound("this door has no controller configured")
            }
            return try Response.json(ControllerResource(controller))
        }
        doors.put("controller") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            let door = try await self.door(tenant, context)
            let (controller, keep) = try Self.controller(try await request.jsonObject(maxBytes: Self.maxBodyBytes).object, door: door)
            let stored = try await self.controllers.put(tenant: tenant, controller, keepSecret: keep, logger: context.logger)
            return try Response.json(ControllerResource(stored))
        }
        doors.delete("controller") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            let door = try await self.door(tenant, context)
            guard try await self.controllers.delete(tenant: tenant, door: door.id, logger: context.logger) else {
                throw Problem.notFound("this door has no controller configured")
            }
            return Response(status: .noContent)
        }
        doors.post("unlock") { request, context in
            let (tenant, principal) = try self.keys.authorize(request, context: context, scope: .accessUnlock)
            let requester: DoorCommander.Requester
            if principal.role == .operatorAdmin || principal.role == .tenantAdmin {
                requester = .administrator
            } else if let person = UUID(uuidString: principal.claims.sub) {
                requester = .person(person)
            } else {
                throw Problem.forbidden("the token names no person")
            }
            guard let id = context.parameters.get("door").flatMap(UUID.init(uuidString:)) else { throw Problem.notFound("no such door") }
            let result: UnlockResult
            do {
                result = try await self.commander.unlock(tenant: tenant, doorId: id, requester: requester, channel: .api, logger: context.logger)
            } catch let error as WireError where error.code == .notFound {
                throw Problem.notFound("no such door")
            }
            guard result.granted else {
                var problem = Problem(
                    slug: "access-denied",
                    title: "Access denied",
                    status: .forbidden,
                    detail: "you may not open this door (\(result.reason.rawValue))"
                )
                problem.reason = result.reason.rawValue
                throw problem
            }
            if let failure = result.failure {
                var problem = Problem(
                    slug: "door-command-failed",
                    title: "The door did not open",
                    status: failure == .timeout ? .gatewayTimeout : failure == .notConfigured ? .conflict : .badGateway,
                    detail: "the door station did not confirm the command \(result.commandId?.lowercasedString ?? "") (\(failure.rawValue))"
                )
                problem.reason = failure.rawValue
                throw problem
            }
            return try Response.json(result)
        }
    }
}
