import AccessService
import DoorSimulator
import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IdentityService
import ServiceKit
import ServiceKitTesting
import Testing

/// Visitor passes end to end: created over access's admin API, presented as PIN or QR code over
/// NATS (`access.present_credential`), decided and counted in PostgreSQL, the door opened through
/// the simulator over HTTP.
extension SignalingRegistrarTests {
    func present(_ context: Context, door: UUID, pin: String? = nil, qr: String? = nil, source: String? = nil) async throws -> UnlockResult {
        try await self.present(context, PresentCredential(doorId: door, pin: pin, qr: qr, source: source))
    }

    /// As a door (or inference) presents a credential: over NATS to access.
    func present(_ context: Context, _ request: PresentCredential) async throws -> UnlockResult {
        let bus = MessageBus(transport: NATSTransport(client: context.nats), source: EventSource(service: "test", instance: "door"))
        return try await bus.request(request, tenant: context.tenant)
    }

    func withAccessAPI(_ context: Context, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router()
        router.add(middleware: ProblemMiddleware())
        let keys = AuthKeys(JWKS(keys: [Self.signer.publicJWK]))
        try #require(context.access).register(on: router, keys: keys)
        try await Application(router: router).test(.router) { client in try await body(client) }
    }

    func createPass(_ client: any TestClientProtocol, _ context: Context, token: String, _ body: String) async throws -> (
        status: HTTPResponse.Status, json: [String: Any]
    ) {
        try await self.request(client, .post, "/v1/tenants/\(context.tenant)/passes", token: token, body: body)
    }

    static func window(minutesAgo: Int = 1, hours: Int = 1) -> String {
        let from = WireCoding.format(Date().addingTimeInterval(Double(-60 * minutesAgo)))
        let until = WireCoding.format(Date().addingTimeInterval(Double(3600 * hours)))
        return #""validFrom": "\#(from)", "validUntil": "\#(until)""#
    }

    @Test func visitorPassesOpenByPINAndQRCodeAndAOneTimeCodeGrantsExactlyOnce() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                let commander = try #require(context.commander)
                let site = try #require(try await commander.door(tenant: context.tenant, id: context.door)).siteId
                let garage = try await DeviceStore(client: context.postgres).createDoor(
                    tenant: context.tenant,
                    site: site,
                    building: nil,
                    name: "Garage",
                    kind: .gate,
                    logger: self.logger
                ).id
                try await self.withAccessAPI(context) { client in
                    let ada = try self.token(.resident, subject: context.ada.lowercasedString, tenant: context.tenant)
                    let created = try await self.createPass(
                        client,
                        context,
                        token: ada,
                        #"{"kind": "guest", "label": "Grandma", "doorIds": ["\#(context.door.lowercasedString)"], \#(Self.window()), "maxUses": 3}"#
                    )
                    #expect(created.status == .created)
                    let pin = try #require(created.json["pin"] as? String)
                    let qr = try #require(created.json["qr"] as? String)
                    let passID = try #require(created.json["id"] as? String)
                    #expect(pin.count == 6 && pin.allSatisfy(\.isNumber) && qr.hasPrefix("GH1:"))

                    // The PIN and the QR code open the door; a wrong PIN does not.
                    let byPIN = try await self.present(context, door: context.door, pin: pin)
                    #expect(byPIN.granted && byPIN.reason == .pass && byPIN.opened)
                    let byQR = try await self.present(context, door: context.door, qr: qr)
                    #expect(byQR.granted && byQR.opened)
                    let wrongPIN = pin == "000000" ? "111111" : "000000"
                    #expect(try await self.present(context, door: context.door, pin: wrongPIN).reason == .invalidCredential)
                    #expect(simulator.triggers.count == 2)
                    // Not at a door outside the pass.
                    #expect(try await self.present(context, door: garage, pin: pin).reason == .invalidCredential)

                    // Shown again: the uses, never the PIN.
                    let shown = try await self.request(client, .get, "/v1/tenants/\(context.tenant)/passes/\(passID)", token: ada)
                    #expect(shown.status == .ok && shown.json["uses"] as? Int == 2 && shown.json["pin"] == nil)
                    #expect(shown.json["timeZone"] as? String == "Europe/Berlin")

                    // The invitation's QR code as a PNG that a real scanner (zbarimg) reads back as the token.
                    let image = try await client.execute(
                        uri: "/v1/tenants/\(context.tenant)/passes/\(passID)/qr.png?scale=4",
                        method: .get,
                        headers: [.authorization: "Bearer \(ada)"]
                    ) { response in (response.status, response.headers[.contentType], Array(buffer: response.body)) }
                    #expect(image.0 == .ok && image.1 == "image/png")
                    let file = context.directory.appendingPathComponent("pass.png")
                    try Data(image.2).write(to: file)
                    let scanned = try await runTool(try TestEnvironment.require("ZBARIMG_BIN"), ["--raw", "-q", file.path], timeout: .seconds(30))
                    // (zbarimg also prints D-Bus complaints; the decoded text is a line of its own.)
                    #expect(scanned.status == 0 && scanned.output.split(whereSeparator: \.isNewline).contains { $0 == qr }, "\(scanned.output)")
                    let oversized = try await self.request(client, .get, "/v1/tenants/\(context.tenant)/passes/\(passID)/qr.png?scale=99", token: ada)
                    #expect(oversized.status == .badRequest)

                    // A one-time code for two doors, shown at both at the same instant, ten times: one grant.
                    let once = try await self.createPass(
                        client,
                        context,
                        token: ada,
                        #"{"kind": "courier", "doorIds": ["\#(context.door.lowercasedString)", "\#(garage.lowercasedString)"], \#(Self.window()), "oneTime": true}"#
                    )
                    #expect(once.status == .created && once.json["maxUses"] as? Int == 1)
                    let onceQR = try #require(once.json["qr"] as? String)
                    let results = try await withThrowingTaskGroup(of: UnlockResult.self) { group in
                        for index in 0..<10 {
                            let door = index % 2 == 0 ? context.door : garage
                            group.addTask { try await self.present(context, door: door, qr: onceQR) }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    #expect(results.filter(\.granted).count == 1)
                    #expect(results.filter { $0.reason == .usesExhausted }.count == 9)

                    // Revoked: the PIN opens nothing from now on.
                    #expect(
                        try await self.request(client, .delete, "/v1/tenants/\(context.tenant)/passes/\(passID)", token: ada).status == .noContent
                    )
                    #expect(try await self.present(context, door: context.door, pin: pin).reason == .revoked)

                    // Only doors the host may open; times in the site's zone, which skips 02:30 on 29 March.
                    let eve = try await PeopleStore(client: context.postgres).create(
                        tenant: context.tenant,
                        PersonInput(kind: .resident, displayName: "Eve"),
                        logger: self.logger
                    ).id
                    let eveToken = try self.token(.resident, subject: eve.lowercasedString, tenant: context.tenant)
                    let refused = try await self.createPass(
                        client,
                        context,
                        token: eveToken,
                        #"{"kind": "guest", "doorIds": ["\#(context.door.lowercasedString)"], \#(Self.window())}"#
                    )
                    #expect(refused.status == .forbidden && refused.json["reason"] as? String == "noAuthority")
                    let skipped = try await self.createPass(
                        client,
                        context,
                        token: ada,
                        #"{"kind": "guest", "doorIds": ["\#(context.door.lowercasedString)"], "validFrom": "2027-03-28T02:30", "validUntil": "2027-03-28T05:00"}"#
                    )
                    #expect(skipped.status == .badRequest)
                    #expect(
                        (skipped.json["errors"] as? [[String: Any]])?.first?["message"] as? String
                            == "2027-03-28T02:30 does not exist in Europe/Berlin: the clocks skip it"
                    )
                    // Someone else's pass does not exist for Eve.
                    #expect(
                        try await self.request(client, .get, "/v1/tenants/\(context.tenant)/passes/\(passID)", token: eveToken).status == .notFound
                    )
                }
            }
        }
    }

    @Test func wrongPINsMakeTheDoorBackOffAndALockdownStopsPasses() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                try await self.collectingEvents(context, domain: "access") { seen in
                    try await self.withAccessAPI(context) { client in
                        let ada = try self.token(.resident, subject: context.ada.lowercasedString, tenant: context.tenant)
                        let admin = try self.token(.tenantAdmin, tenant: context.tenant)
                        let created = try await self.createPass(
                            client,
                            context,
                            token: ada,
                            #"{"kind": "contractor", "doorIds": ["\#(context.door.lowercasedString)"], \#(Self.window())}"#
                        )
                        let pin = try #require(created.json["pin"] as? String)
                        let site = try #require(created.json["siteId"] as? String)

                        // Lockdown: the pass and the resident are refused, an administrator is not.
                        let locked = try await self.request(
                            client,
                            .put,
                            "/v1/tenants/\(context.tenant)/sites/\(site)/access-settings",
                            token: admin,
                            body: #"{"lockdown": true}"#
                        )
                        #expect(locked.status == .ok && locked.json["lockdown"] as? Bool == true)
                        #expect(try await self.present(context, door: context.door, pin: pin).reason == .lockdown)
                        let unlock = "/v1/tenants/\(context.tenant)/doors/\(context.door.lowercasedString)/unlock"
                        let resident = try await self.request(client, .post, unlock, token: ada)
                        #expect(resident.status == .forbidden && resident.json["reason"] as? String == "lockdown")
                        #expect(try await self.request(client, .post, unlock, token: admin).status == .ok)
                        _ = try await self.request(
                            client,
                            .put,
                            "/v1/tenants/\(context.tenant)/sites/\(site)/access-settings",
                            token: admin,
                            body: #"{"lockdown": false}"#
                        )
                        #expect(try await self.present(context, door: context.door, pin: pin).granted)

                        // Five wrong PINs from one keypad: the door backs off, even for the right PIN.
                        let wrong = pin == "000000" ? "111111" : "000000"
                        for _ in 0..<5 {
                            #expect(try await self.present(context, door: context.door, pin: wrong, source: "keypad-1").reason == .invalidCredential)
                        }
                        #expect(try await self.present(context, door: context.door, pin: pin, source: "keypad-1").reason == .rateLimited)
                        #expect(try await self.present(context, door: context.door, pin: pin, source: "keypad-2").reason == .rateLimited)
                        // QR codes cannot be guessed: they still open the blocked door.
                        let qr = try #require(created.json["qr"] as? String)
                        #expect(try await self.present(context, door: context.door, qr: qr, source: "keypad-1").granted)
                        #expect(simulator.triggers.count == 3)
                    }
                    // The audit trail: lockdown on and off, and the suspected brute force (door and source).
                    #expect(try await eventually { seen.withLock { $0.filter { $0.subject.hasSuffix(".bruteforce_suspected") }.count } == 2 })
                    let messages = seen.withLock { $0 }
                    let lockdowns = try messages.filter { $0.subject.hasSuffix(".lockdown_changed") }.map {
                        try WireCoding.decode(CloudEvent<LockdownChanged>.self, from: Data($0.payload)).data.lockdown
                    }
                    #expect(lockdowns == [true, false])
                    let suspected = try messages.filter { $0.subject.hasSuffix(".bruteforce_suspected") }.map {
                        try WireCoding.decode(CloudEvent<BruteForceSuspected>.self, from: Data($0.payload)).data
                    }
                    #expect(Set(suspected.map(\.scope)) == ["door", "source"] && suspected.allSatisfy { $0.blockedSeconds == 30 })
                    #expect(messages.contains { $0.subject.hasSuffix(".pass_created") })
                }
            }
        }
    }
}
