import AccessService
import DoorSimulator
import Foundation
import GatehouseWire
import ServiceKitTesting
import Testing

/// Access control's door adapters against the door simulator over real HTTP on loopback.
@Suite(.timeLimit(.minutes(1)))
struct DoorAdapterTests {
    static let door = UUID()

    func open(_ http: DoorHTTPClient, _ target: DoorTarget, deadline: Duration = .seconds(3)) async -> DoorCommandError? {
        do {
            try await http.open(target, command: UUID(), door: Self.door, deadline: .now + deadline)
            return nil
        } catch {
            return error
        }
    }

    func withClient(_ body: (DoorHTTPClient) async throws -> Void) async throws {
        let http = DoorHTTPClient()
        do {
            try await body(http)
        } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test(arguments: DoorAdapterKind.allCases)
    func eachAdapterTriggersTheRelayWithTheStationsCredentials(adapter: DoorAdapterKind) async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withClient { http in
                let base = adapter == .webhook ? "\(url)/webhook" : url
                let secret = adapter == .webhook ? "hook-secret" : "door-secret"
                let target = DoorTarget(adapter: adapter, baseURL: base, relay: 3, username: "admin", secret: secret, verifyTLS: true)
                let failure = await self.open(http, target)
                #expect(failure == nil, "\(failure.map(String.init(describing:)) ?? "")")
                #expect(simulator.triggers.map(\.relay) == [3])
                #expect(simulator.triggers.map(\.api) == [adapter.rawValue])
                // Wrong credentials never open the door.
                var wrong = target
                wrong.secret = "not-the-password"
                #expect(await self.open(http, wrong)?.failure == .unauthorized)
                #expect(simulator.triggers.count == 1)
            }
        }
    }

    @Test func aStationThatFailsIsReportedAndANonIdempotentCommandIsNotRepeated() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withClient { http in
                simulator.setBehaviour(.init(failWithStatus: 500))
                let target = DoorTarget(adapter: .twoN, baseURL: url, relay: 1, username: "admin", secret: "door-secret", verifyTLS: true)
                let failure = await self.open(http, target)
                #expect(failure?.failure == .rejected && failure?.httpStatus == 500)
                #expect(simulator.received == 1 && simulator.triggers.isEmpty)
            }
        }
    }

    @Test func aHangingStationTimesOutAtTheDeadlineAndIsAbandoned() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withClient { http in
                simulator.setBehaviour(.init(hang: true))
                let target = DoorTarget(adapter: .twoN, baseURL: url, relay: 1, username: "admin", secret: "door-secret", verifyTLS: true)
                let started = ContinuousClock.now
                let failure = await self.open(http, target, deadline: .milliseconds(500))
                let elapsed = ContinuousClock.now - started
                #expect(failure?.failure == .timeout)
                // Abandoned at the deadline (with scheduling slack), not left to fire later.
                #expect(elapsed >= .milliseconds(450) && elapsed < .seconds(3))
                #expect(simulator.received == 1 && simulator.triggers.isEmpty)
            }
        }
    }

    @Test func theWebhookIsRetriedWithItsIdempotencyKeyAndOpensOnce() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withClient { http in
                // A slow answer beyond a first attempt's patience is not what retries are for; a
                // 503 is: the simulator fails the first request, then recovers.
                simulator.setBehaviour(.init(failWithStatus: 503))
                let target = DoorTarget(adapter: .webhook, baseURL: "\(url)/webhook", relay: 2, username: nil, secret: "hook-secret", verifyTLS: true)
                let command = Task { await self.open(http, target, deadline: .seconds(5)) }
                let attempted = try await eventually { simulator.received >= 1 }
                #expect(attempted)
                simulator.setBehaviour(.init())
                #expect(await command.value == nil)
                #expect(simulator.triggers.map(\.relay) == [2])
                #expect(simulator.received >= 2)
            }
        }
    }

    @Test func anUnreachableStationIsReportedAsSuch() async throws {
        try await self.withClient { http in
            // Port 9 (discard) on loopback: nothing listens, the connection is refused.
            let target = DoorTarget(adapter: .doorbird, baseURL: "http://127.0.0.1:9", relay: 1, username: "admin", secret: "x", verifyTLS: true)
            let failure = await self.open(http, target, deadline: .seconds(2))
            #expect(failure?.failure == .unreachable, "\(failure.map(String.init(describing:)) ?? "opened")")
        }
    }
}
