import AccessService
import DoorSimulator
import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import Hummingbird
import IdentityService
import Logging
import ServiceKit
import ServiceKitTesting
import ServiceLifecycle
import Testing

/// A door that keeps working when access does not: the door simulator follows its signed offline
/// bundle from access's HTTP API (long-poll), a revocation reaches it within 5 s, and once access is
/// stopped it still grants a valid PIN and card and refuses the pass revoked before the cut.
extension SignalingRegistrarTests {
    @Test func theDoorKeepsDecidingFromItsBundleWhenAccessIsUnreachable() async throws {
        try await withDoorSimulator { station, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                try await self.collectingEvents(context, domain: "access") { seen in
                    let access = try #require(context.access)
                    let door = try #require(try await access.commander.door(tenant: context.tenant, id: context.door))
                    let input = { (label: String) in
                        PassInput(
                            siteId: door.siteId,
                            hostPersonId: context.ada,
                            kind: "guest",
                            label: label,
                            doorIds: [door.id],
                            validFrom: Date().addingTimeInterval(-60),
                            validUntil: Date().addingTimeInterval(3600),
                            maxUses: nil,
                            schedule: nil
                        )
                    }
                    let (valid, validPIN, validQR) = try await access.passes.create(
                        tenant: context.tenant,
                        input("stays"),
                        pinDigits: 6,
                        logger: self.logger
                    )
                    let (revoked, revokedPIN, _) = try await access.passes.create(
                        tenant: context.tenant,
                        input("goes"),
                        pinDigits: 6,
                        logger: self.logger
                    )
                    let (card, _) = try await access.credentials.issue(
                        tenant: context.tenant,
                        CredentialStore.Input(personId: context.ada, kind: .card, value: "w26:7:4242"),
                        logger: self.logger
                    )
                    let token = try await access.bundles.issueToken(tenant: context.tenant, door: door.id, logger: self.logger)

                    // Access's admin HTTP on a port of its own, stopped halfway through.
                    let router = Router()
                    router.add(middleware: ProblemMiddleware())
                    access.register(on: router, keys: AuthKeys(JWKS(keys: [Self.signer.publicJWK])))
                    let (ports, bound) = AsyncStream.makeStream(of: Int.self)
                    func makeServer(port: Int) -> ServiceGroup {
                        let app = Application(
                            router: router,
                            configuration: .init(address: .hostname("127.0.0.1", port: port)),
                            onServerRunning: { channel in bound.yield(channel.localAddress?.port ?? 0) },
                            logger: self.logger
                        )
                        return ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: self.logger)
                    }
                    let server = makeServer(port: 0)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await server.run() }
                        var iterator = ports.makeAsyncIterator()
                        let port = try #require(await iterator.next())
                        let follower = try OfflineFollower(
                            configuration: .init(
                                accessURL: "http://127.0.0.1:\(port)",
                                tenant: context.tenant,
                                door: door.id,
                                token: token,
                                signingKey: access.bundles.signingKey,
                                wait: .seconds(20),
                                onlineTimeout: .seconds(1)
                            ),
                            logger: self.logger
                        )
                        let doorTask = Task { try await follower.run() }
                        defer { doorTask.cancel() }
                        #expect(try await eventually { follower.status.passes == 2 && follower.status.credentials == 1 })

                        // Online: access decides and opens the door through the station's API.
                        let online = await follower.present(pin: validPIN, card: nil, qr: nil)
                        #expect(online == .init(granted: true, reason: .pass, offline: false))
                        #expect(station.triggers.count == 1)

                        // A revocation reaches the door's bundle (event → long-poll) within 5 s.
                        let revokedAt = ContinuousClock.now
                        #expect(try await access.passes.revoke(tenant: context.tenant, id: revoked.id, logger: self.logger))
                        #expect(try await eventually(timeout: .seconds(5)) { follower.status.revoked.contains(revoked.id) })
                        let propagation = ContinuousClock.now - revokedAt
                        #expect(propagation < .seconds(5), "revocation reached the door after \(propagation)")
                        print("offline bundle: revocation reached the door in \(propagation)")

                        // Access goes away; the door decides from its bundle.
                        await server.triggerGracefulShutdown()
                        try await group.waitForAll()
                        #expect(await follower.present(pin: validPIN, card: nil, qr: nil) == .init(granted: true, reason: .pass, offline: true))
                        #expect(await follower.present(pin: nil, card: nil, qr: validQR) == .init(granted: true, reason: .pass, offline: true))
                        #expect(await follower.present(pin: revokedPIN, card: nil, qr: nil) == .init(granted: false, reason: .revoked, offline: true))
                        let bits = CredentialValue.wiegandBits(facility: 7, number: 4242, length: 26)
                        let byCard = await follower.present(pin: nil, card: CardRead(format: "wiegand26", value: bits), qr: nil)
                        #expect(byCard == .init(granted: true, reason: .resident, offline: true))
                        let wrong = validPIN == "000000" ? "111111" : "000000"
                        #expect(
                            await follower.present(pin: wrong, card: nil, qr: nil) == .init(granted: false, reason: .invalidCredential, offline: true)
                        )
                        // The station's relay was not asked again: offline grants are the door's own.
                        #expect(station.triggers.count == 1)
                        #expect(card.kind == .card)
                        #expect(follower.status.pendingDecisions == 5)

                        // Access is back (same address): the door reports what it decided, each once.
                        let again = makeServer(port: port)
                        group.addTask { try await again.run() }
                        #expect(await iterator.next() == port)
                        #expect(try await eventually(timeout: .seconds(20)) { follower.status.pendingDecisions == 0 })
                        #expect(try await access.passes.get(tenant: context.tenant, id: valid.id, logger: self.logger)?.uses == 3)
                        #expect(
                            try await eventually {
                                seen.withLock {
                                    $0.filter {
                                        $0.subject.hasSuffix(".decision_made")
                                            && String(decoding: $0.payload, as: UTF8.self).contains(#""offline":true"#)
                                    }.count
                                } == 5
                            }
                        )
                        let offline = try seen.withLock { $0 }.filter { $0.subject.hasSuffix(".decision_made") }.map {
                            try WireCoding.decode(CloudEvent<AccessDecisionMade>.self, from: Data($0.payload))
                        }.filter { $0.data.offline == true }
                        #expect(
                            offline.map(\.data.reason).sorted { $0.rawValue < $1.rawValue } == [
                                .invalidCredential, .pass, .pass, .resident, .revoked,
                            ]
                        )
                        await again.triggerGracefulShutdown()
                    }
                }
            }
        }
    }
}
