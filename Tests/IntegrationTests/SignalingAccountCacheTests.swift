import Foundation
import GatehouseNATS
import GatehouseWire
import IdentityService
import ServiceKit
import ServiceKitTesting
import ServiceLifecycle
import SignalingService
import Testing

/// Signaling keeps identity's SIP accounts for a while and forgets one when identity announces a
/// change to its device.
extension SignalingRegistrarTests {
    /// Signaling with identity's announcements read, once the feed has subscribed (and forgotten
    /// everything); `start` is the forget count then.
    func withAccountFeed(_ body: @Sendable (Context, _ start: Int) async throws -> Void) async throws {
        try await self.withSignaling { context in
            let feed = try #require(context.server.accountFeed(nats: context.nats))
            let running = Task { try await feed.run() }
            defer { running.cancel() }
            #expect(try await eventually { context.server.accountsForgotten >= 1 })
            try await body(context, context.server.accountsForgotten)
        }
    }

    @Test func aNewPasswordTakesEffectWhenIdentityAnnouncesIt() async throws {
        try await self.withAccountFeed { context, start in
            let register = SIPScenarios.register(expires: 300, final: 200)
            #expect(try await self.sipp(context, scenario: register, users: [self.account(context, context.phone)]).status == 0)

            // A new password in identity's database: until identity says so, the kept account answers.
            let devices = DeviceStore(client: context.postgres)
            let (device, credentials) = try await devices.rotatePassword(tenant: context.tenant, id: context.phone.id, logger: self.logger)
            let old = context.phone
            var new = context.phone
            new.password = credentials.password
            #expect(try await self.sipp(context, scenario: register, users: [self.account(context, old)]).status == 0)

            // Identity's announcement (as its outbox relay publishes it): the old password stops working.
            let identity = MessageBus(transport: NATSTransport(client: context.nats), source: EventSource(service: .identity, instance: "test"))
            try await identity.publish(DeviceUpdated(device.info), tenant: context.tenant, subject: "device/\(device.id.lowercasedString)")
            #expect(try await eventually { context.server.accountsForgotten > start })
            let refused = try await self.sipp(context, scenario: SIPScenarios.register(expires: 300, final: 403), users: [self.account(context, old)])
            #expect(refused.status == 0, "\(refused.output)")
            #expect(try await self.sipp(context, scenario: register, users: [self.account(context, new)]).status == 0)
        }
    }

    @Test func aRingPlanIsKeptUntilIdentityAnnouncesAChange() async throws {
        try await self.withAccountFeed { context, start in
            let port = Int.random(in: 20_000..<30_000)
            let phone = try await self.phone(context, context.phone, port: port, scenario: "resident-answers")
            #expect(try await self.doorCalls(context, "101").status == 0)
            #expect(try await phone.value.status == 0)

            // Ada's phone is revoked in identity's database; until identity announces it, the kept
            // ring plan still rings her (still registered) phone.
            let revoked = try #require(
                try await DeviceStore(client: context.postgres).revoke(tenant: context.tenant, id: context.phone.id, logger: self.logger)
            )
            let scenario = try Self.scenario("resident-answers")
            let again = Task { try await self.sipp(context, scenario: scenario, users: [[context.phone.username]], localPort: port) }
            #expect(try await eventually { Self.listeningUDP(port) })
            #expect(try await self.doorCalls(context, "101").status == 0)
            #expect(try await again.value.status == 0)

            // The announcement: the next call gets identity's new plan, in which nobody is registered.
            let identity = MessageBus(transport: NATSTransport(client: context.nats), source: EventSource(service: .identity, instance: "test"))
            try await identity.publish(DeviceRevoked(revoked.info), tenant: context.tenant, subject: "device/\(revoked.id.lowercasedString)")
            #expect(try await eventually { context.server.accountsForgotten > start })
            let unanswerable = try await self.doorCallExpecting(context, "101", final: 480)
            #expect(unanswerable.status == 0, "\(unanswerable.output)")
        }
    }
}
