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
import PostgresNIO
import ServiceKit
import ServiceKitTesting
import Testing

/// Access control's admin API for doors: configuring how a door is driven and opening it, with
/// real tokens, identity answering over NATS, PostgreSQL and the door simulator over HTTP.
extension SignalingRegistrarTests {
    static let signer = try! TokenSigner(seed: Array(repeating: 43, count: 32))

    func token(_ role: Role, subject: String = "admin", tenant: TenantID) throws -> String {
        try Self.signer.sign(AccessClaims(subject: subject, tenant: tenant, role: role))
    }

    func request(
        _ client: any TestClientProtocol,
        _ method: HTTPRequest.Method,
        _ path: String,
        token: String,
        body: String? = nil
    ) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            let json = (try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8))) as? [String: Any]
            return (response.status, json ?? [:])
        }
    }

    @Test func doorsOpenThroughTheAPIOnlyOnTheCallersAuthorityAndMissedDeadlinesAreReported() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                let commander = try #require(context.commander)
                let controllers = try #require(context.controllers)
                let eve = try await PeopleStore(client: context.postgres).create(
                    tenant: context.tenant,
                    PersonInput(kind: .resident, displayName: "Eve"),
                    logger: self.logger
                ).id
                let router = Router()
                router.add(middleware: ProblemMiddleware())
                DoorsAPI(commander: commander, controllers: controllers, keys: AuthKeys(JWKS(keys: [Self.signer.publicJWK]))).register(on: router)
                try await Application(router: router).test(.router) { client in
                    let base = "/v1/tenants/\(context.tenant)/doors/\(context.door.lowercasedString)"
                    let admin = try self.token(.tenantAdmin, tenant: context.tenant)
                    let ada = try self.token(.resident, subject: context.ada.lowercasedString, tenant: context.tenant)

                    // The controller: the secret is stored sealed and never shown again.
                    let shown = try await self.request(client, .get, "\(base)/controller", token: admin)
                    #expect(shown.status == .ok && shown.json["hasSecret"] as? Bool == true && shown.json["secret"] == nil)
                    #expect(shown.json["relay"] as? Int == 2)
                    let sealed = try await context.postgres.query(
                        "SELECT count(*) FROM \(unescaped: "access_" + context.schema.dropFirst("signaling_".count)).door_controllers WHERE position('door-secret'::bytea IN secret_sealed) > 0",
                        logger: self.logger
                    ).collect().first?.decode(Int.self)
                    #expect(sealed == 0)
                    let bad = try await self.request(
                        client,
                        .put,
                        "\(base)/controller",
                        token: admin,
                        body: #"{"relay": 99, "verifyTLS": 1, "extra": true}"#
                    )
                    #expect(bad.status == .badRequest)
                    #expect(
                        Set((bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }) == ["relay", "verifyTLS", "extra"]
                    )
                    #expect(try await self.request(client, .get, "\(base)/controller", token: ada).status == .forbidden)

                    // Ada lives in the building: the door opens.
                    let opened = try await self.request(client, .post, "\(base)/unlock", token: ada)
                    #expect(opened.status == .ok && opened.json["reason"] as? String == "resident" && opened.json["opened"] as? Bool == true)
                    #expect(simulator.triggers.count == 1)
                    // Eve lives nowhere here: denied with the reason, the door stays shut.
                    let eveToken = try self.token(.resident, subject: eve.lowercasedString, tenant: context.tenant)
                    let denied = try await self.request(client, .post, "\(base)/unlock", token: eveToken)
                    #expect(denied.status == .forbidden && denied.json["type"] as? String == "urn:gatehouse:problem:access-denied")
                    #expect(denied.json["reason"] as? String == "noAuthority")
                    // Over NATS only signaling may ask to open a door on someone's authority, and only
                    // access publishes access's events (deploy/nats/nats.conf).
                    try await withNATSClient(context.natsURL) { anonymous in
                        let bus = MessageBus(transport: NATSTransport(client: anonymous), source: EventSource(service: "test", instance: "t"))
                        await #expect(throws: (any Error).self) {
                            try await bus.request(
                                UnlockDoor(doorId: context.door, personId: context.ada, channel: .call),
                                tenant: context.tenant,
                                timeout: .milliseconds(500)
                            )
                        }
                        await #expect(throws: (any Error).self) {
                            try await bus.publish(
                                AccessDecisionMade(
                                    doorId: context.door,
                                    granted: true,
                                    reason: .administrator,
                                    channel: .api,
                                    personId: nil,
                                    callId: nil
                                ),
                                tenant: context.tenant,
                                timeout: .seconds(1)
                            )
                        }
                    }
                    #expect(simulator.triggers.count == 1)
                    // Guests and integrators may not ask; another tenant's door does not exist.
                    #expect(
                        try await self.request(client, .post, "\(base)/unlock", token: try self.token(.guest, tenant: context.tenant)).status
                            == .forbidden
                    )
                    let stranger = try self.token(.tenantAdmin, tenant: TenantID(UUID()))
                    #expect(
                        try await self.request(
                            client,
                            .post,
                            base.replacing("\(context.tenant)", with: "\(TenantID(UUID()))") + "/unlock",
                            token: stranger
                        ).status == .notFound
                    )
                    #expect(
                        try await self.request(client, .post, "/v1/tenants/\(context.tenant)/doors/\(UUID().lowercasedString)/unlock", token: admin)
                            .status == .notFound
                    )
                    #expect(simulator.triggers.count == 1)

                    // A station that hangs: the command is abandoned at the door's deadline and reported.
                    let tight = try await self.request(
                        client,
                        .put,
                        "\(base)/controller",
                        token: admin,
                        body: #"{"relay": 2, "username": "admin", "deadlineMs": 300}"#
                    )
                    #expect(tight.status == .ok && tight.json["hasSecret"] as? Bool == true && tight.json["version"] as? Int == 2)
                    simulator.setBehaviour(.init(hang: true))
                    let late = try await self.request(client, .post, "\(base)/unlock", token: admin)
                    #expect(late.status == .gatewayTimeout && late.json["reason"] as? String == "timeout")
                    simulator.setBehaviour(.init())
                    #expect(simulator.triggers.count == 1)
                }
            }
        }
    }
}
