import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
package import ServiceKit

/// What door stations themselves call, authenticated as the door by its device token
/// (`Authorization: Bearer ghd_…`): `GET /v1/tenants/{tenant}/doors/{door}/bundle` (the signed
/// offline bundle, whole or since a cursor, long-polling up to `wait` seconds for a change) and
/// `POST /v1/tenants/{tenant}/doors/{door}/credentials` (a credential presented at the door, decided
/// online). Administrators issue the token: `POST …/doors/{door}/device-token` (`access:configure`).
package struct DoorDeviceAPI: Sendable {
    let commander: DoorCommander
    let desk: CredentialDesk
    let bundles: BundleStore
    let notifier: BundleNotifier
    let keys: AuthKeys

    package init(commander: DoorCommander, desk: CredentialDesk, bundles: BundleStore, notifier: BundleNotifier, keys: AuthKeys) {
        self.commander = commander
        self.desk = desk
        self.bundles = bundles
        self.notifier = notifier
        self.keys = keys
    }

    /// The longest long-poll.
    package static let maxWait = 30

    /// The door the device token opens: 401 without a valid token for it, 404 for no such door.
    func door(_ request: Request, _ context: BasicRequestContext) async throws -> (TenantID, DoorInfo) {
        guard let tenant = context.parameters.get("tenant").flatMap(TenantID.init),
            let id = context.parameters.get("door").flatMap(UUID.init(uuidString:))
        else { throw Problem.notFound("no such door") }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "),
            try await self.bundles.checkToken(tenant: tenant, door: id, token: String(header.dropFirst(7)), logger: context.logger)
        else {
            throw Problem.unauthorized("this route takes the door's device token (Bearer ghd_…)")
        }
        guard let door = try await self.commander.door(tenant: tenant, id: id) else { throw Problem.notFound("no such door") }
        return (tenant, door)
    }

    package func register(on router: Router<BasicRequestContext>) {
        let doors = router.group("/v1/tenants/:tenant/doors/:door")
        doors.post("device-token") { request, context in
            let (tenant, _) = try self.keys.authorize(request, context: context, scope: .accessConfigure)
            guard let id = context.parameters.get("door").flatMap(UUID.init(uuidString:)),
                try await self.commander.door(tenant: tenant, id: id) != nil
            else { throw Problem.notFound("no such door") }
            let token = try await self.bundles.issueToken(tenant: tenant, door: id, logger: context.logger)
            struct Issued: Encodable {
                var token: String
                /// The Ed25519 key that signs bundles and QR tokens, for the door to pin.
                var signingKey: String
                var bundleURL: String
            }
            let issued = Issued(
                token: token,
                signingKey: self.bundles.signingKey,
                bundleURL: "/v1/tenants/\(tenant)/doors/\(id.lowercasedString)/bundle"
            )
            return try Response.json(issued, status: .created, headers: [.cacheControl: "no-store"])
        }
        doors.get("bundle") { request, context in
            let (tenant, door) = try await self.door(request, context)
            let query = request.uri.queryParameters
            var since: Int64?
            if let text = query["since"] {
                guard let value = Int64(text), value >= 0 else {
                    throw Problem.badRequest("invalid query", errors: [.init(field: "since", message: "must be a cursor from an earlier bundle")])
                }
                since = value
            }
            var wait = 0
            if let text = query["wait"] {
                guard let value = Int(text), (0...Self.maxWait).contains(value) else {
                    throw Problem.badRequest("invalid query", errors: [.init(field: "wait", message: "must be 0 to \(Self.maxWait) seconds")])
                }
                wait = value
            }
            var bundle: OfflineBundle?
            var answered = false
            // Waiter first, then the query: a change between the two still wakes this request.
            try await self.notifier.wait(tenant: tenant, timeout: .seconds(wait)) {
                let (first, fresh) = try await self.bundles.bundle(tenant: tenant, door: door, since: since, logger: context.logger)
                bundle = first
                answered = wait == 0 || fresh
                return answered
            }
            if !answered {
                // Woken or timed out: what is there now (the policy may have changed too).
                bundle = try await self.bundles.bundle(tenant: tenant, door: door, since: since, logger: context.logger).0
            }
            guard let bundle else { throw Problem.internalError }
            return try Response.json(try self.bundles.sign(bundle), headers: [.cacheControl: "no-store"])
        }
        // Decisions the door took from its bundle while access was out of reach.
        doors.post("offline-decisions") { request, context in
            let (tenant, door) = try await self.door(request, context)
            let body = try await request.jsonObject(maxBytes: 512 * 1024).bytes
            struct Report: Decodable { var decisions: [OfflineDecision] }
            guard let report = try? WireCoding.decode(Report.self, from: Data(body)) else {
                throw Problem.badRequest("the body is {\"decisions\": [{id, at, granted, reason, channel, passId?, credentialId?, personId?}]}")
            }
            guard (1...OfflineDecision.maxPerReport).contains(report.decisions.count) else {
                throw Problem.badRequest("report 1 to \(OfflineDecision.maxPerReport) decisions at a time")
            }
            // A door's clock may drift, but a decision from before the bundle's horizon or from the
            // future is no decision of a bundle.
            let now = Date()
            guard report.decisions.allSatisfy({ $0.at <= now.addingTimeInterval(300) && $0.at >= now.addingTimeInterval(-7 * 86_400) }),
                report.decisions.allSatisfy({ $0.granted == $0.reason.grants })
            else {
                throw Problem.badRequest("a decision's time must be within the last 7 days, and granted must match its reason")
            }
            let recorded = try await self.bundles.record(tenant: tenant, door: door, report.decisions, logger: context.logger)
            struct Recorded: Encodable { var recorded: Int }
            return try Response.json(Recorded(recorded: recorded))
        }
        doors.post("credentials") { request, context in
            let (tenant, door) = try await self.door(request, context)
            // The door is the one the token names; a body's own doorId is ignored.
            var object = try await request.jsonObject(maxBytes: 8192).object
            object["doorId"] = door.id.lowercasedString
            let presented: PresentCredential
            do {
                presented = try WireCoding.decode(PresentCredential.self, from: try JSONSerialization.data(withJSONObject: object))
            } catch {
                throw Problem.badRequest("the body is not a credential: give exactly one of pin, qr, card, plate, mobileKey or face")
            }
            do {
                return try Response.json(try await self.desk.present(tenant: tenant, presented, logger: context.logger))
            } catch let error as WireError where error.code == .invalidRequest {
                throw Problem.badRequest(error.message)
            }
        }
    }
}
