import Foundation
import ServiceKitTesting
import Testing

/// Calls through the forking proxy, with sipp as the door station and as the residents' phones.
extension SignalingRegistrarTests {
    static func scenario(_ name: String) throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/sipp/\(name).xml")
        return try String(contentsOf: file, encoding: .utf8)
    }

    /// Whether something listens on UDP `port` (from /proc/net/udp), polled instead of sleeping.
    static func listeningUDP(_ port: Int) -> Bool {
        let hex = String(format: ":%04X ", port)
        return ((try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8)) ?? "").contains(hex)
    }

    /// Registers `device` from `port` and then runs `scenario` as that device on the same port.
    func phone(_ context: Context, _ device: Device, port: Int, scenario: String) async throws -> Task<ToolRun, any Error> {
        let registered = try await self.sipp(
            context,
            scenario: SIPScenarios.register(expires: 300, final: 200),
            users: [[device.username, context.domain, "[authentication username=\(device.username) password=\(device.password)]"]],
            localPort: port
        )
        #expect(registered.status == 0, "\(registered.output)")
        let scenario = try Self.scenario(scenario)
        let task = Task { try await self.sipp(context, scenario: scenario, users: [[device.username]], localPort: port) }
        #expect(try await eventually { Self.listeningUDP(port) })
        return task
    }

    func doorCalls(_ context: Context, _ number: String) async throws -> ToolRun {
        let station = context.station
        return try await self.sipp(
            context,
            scenario: try Self.scenario("door-call"),
            users: [[station.username, context.domain, "[authentication username=\(station.username) password=\(station.password)]", number]],
            authURI: "\(number)@\(context.domain)"
        )
    }

    @Test func aDoorStationCallsUnit101AndTheResidentsPhoneAnswers() async throws {
        try await self.withSignaling { context in
            let port = Int.random(in: 20_000..<30_000)
            let phone = try await self.phone(context, context.phone, port: port, scenario: "resident-answers")
            let call = try await self.doorCalls(context, "101")
            #expect(call.status == 0, "\(call.output)")
            let answered = try await phone.value
            #expect(answered.status == 0, "\(answered.output)")
        }
    }
}
