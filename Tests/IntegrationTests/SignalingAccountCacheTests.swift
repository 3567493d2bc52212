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
    @Test func aNewPasswordTakesEffectWhenIdentityAnnouncesIt() async throws {
        try await self.withSignaling { context in
            let feed = try #require(context.server.accountFeed(nats: context.nats))
            let running = Task { try await feed.run() }
            defer { running.cancel() }
            // The feed subscribes (and forgets everything) first.
            #expect(try await eventually { context.server.accountsForgotten >= 1 })
            let start = context.server.accountsForgotten
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
}
