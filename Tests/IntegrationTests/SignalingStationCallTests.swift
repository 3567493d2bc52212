import DoorSimulator
import Foundation
import GatehouseNATS
import GatehouseWire
import IdentityService
import ServiceKitTesting
import SignalingService
import Testing

/// Residents and staff call a door station (to look and talk before they open), with sipp as both.
extension SignalingRegistrarTests {
    /// The station's side: it answers, acknowledges the caller's INFO and the BYE.
    static func stationAnswersScenario() throws -> String {
        var scenario = try Self.scenario("resident-answers")
        let bye = scenario.range(of: "  <recv request=\"BYE\"/>")!
        scenario.insert(contentsOf: Self.answersInfo, at: bye.lowerBound)
        return scenario
    }

    /// The caller's side: calls `number`, and once answered presses the door-open key (INFO with
    /// `Signal=#`) before hanging up.
    static func callPressingTheKeyScenario() throws -> String {
        var scenario = try Self.scenario("door-call")
        scenario = scenario.replacingOccurrences(of: "CSeq: 3 BYE", with: "CSeq: 4 BYE")
        let pause = scenario.range(of: "  <pause milliseconds=\"200\"/>")!
        scenario.insert(
            contentsOf: """
                  <send retrans="500">
                    <![CDATA[
                      INFO [next_url] SIP/2.0
                      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
                      [routes]
                      From: <sip:[field0]@[field1]>;tag=[pid]SIPpTag09[call_number]
                      To: <sip:[field3]@[field1]>[peer_tag_param]
                      Call-ID: [call_id]
                      CSeq: 3 INFO
                      Max-Forwards: 70
                      Content-Type: application/dtmf-relay
                      Content-Length: [len]

                      Signal=#
                      Duration=160
                    ]]>
                  </send>
                  <recv response="200"/>

                """,
            at: pause.lowerBound
        )
        return scenario
    }

    /// `device` calls the Lobby station by its SIP username.
    func callsTheStation(_ context: Context, _ device: Device, scenario: String) async throws -> ToolRun {
        let number = context.station.username
        return try await self.sipp(
            context,
            scenario: scenario,
            users: [self.account(context, device) + [number]],
            authURI: "\(number)@\(context.domain)"
        )
    }

    @Test func aResidentCallsTheDoorStationTalksAndOpensTheDoor() async throws {
        try await withDoorSimulator { simulator, url in
            try await self.withSignaling(doorControlURL: url, access: true) { context in
                try await self.collectingEvents(context, domain: "signaling") { calls in
                    try await self.collectingEvents(context, domain: "access") { decisions in
                        let port = Int.random(in: 20_000..<30_000)
                        let registered = try await self.sipp(
                            context,
                            scenario: SIPScenarios.register(expires: 300, final: 200),
                            users: [self.account(context, context.station)],
                            localPort: port
                        )
                        #expect(registered.status == 0, "\(registered.output)")
                        let scenario = try Self.stationAnswersScenario()
                        let station = Task {
                            try await self.sipp(context, scenario: scenario, users: [[context.station.username]], localPort: port)
                        }
                        #expect(try await eventually { Self.listeningUDP(port) })
                        // Ada lives in the building the Lobby door serves.
                        let call = try await self.callsTheStation(context, context.phone, scenario: try Self.callPressingTheKeyScenario())
                        #expect(call.status == 0, "\(call.output)")
                        let answered = try await station.value
                        #expect(answered.status == 0, "\(answered.output)")
                        // Her key press opened the door on her authority, during her call.
                        #expect(try await eventually { simulator.triggers.count == 1 })
                        #expect(try await eventually { decisions.withLock { $0.count } >= 2 })
                        let decision = try WireCoding.decode(
                            CloudEvent<AccessDecisionMade>.self,
                            from: Data(decisions.withLock { $0 }[0].payload)
                        )
                        #expect(decision.data.granted && decision.data.reason == .resident && decision.data.channel == .call)
                        #expect(decision.data.personId == context.ada && decision.data.doorId == context.door)
                        // The call as integrators see it: started by her phone, ringing the station.
                        #expect(try await eventually { calls.withLock { $0.count } >= 4 })
                        let names = calls.withLock { $0 }.map { $0.subject.split(separator: ".").last.map(String.init) ?? "" }
                        #expect(Array(names.prefix(3)) == ["call_started", "call_ringing", "call_answered"], "\(names)")
                        let started = try WireCoding.decode(CloudEvent<CallStarted>.self, from: Data(calls.withLock { $0 }[0].payload))
                        #expect(started.data.callerDeviceId == context.phone.id && started.context.doorid == context.door)
                        let ringing = try WireCoding.decode(CloudEvent<CallRinging>.self, from: Data(calls.withLock { $0 }[1].payload))
                        #expect(ringing.data.stepKind == .doorStation && ringing.data.devices == 1)
                        #expect(decision.data.callId == started.data.callId)
                    }
                }
            }
        }
    }

    @Test func aResidentOfAnotherBuildingMayNotCallTheDoorStation() async throws {
        try await self.withSignaling { context in
            // Eve lives in building B; the Lobby door serves building A.
            let topology = TopologyStore(client: context.postgres)
            let people = PeopleStore(client: context.postgres)
            let devices = DeviceStore(client: context.postgres)
            let site = try #require(try await topology.sites(tenant: context.tenant, logger: self.logger).first).id
            let siteID = try #require(UUID(uuidString: site))
            let building = try #require(
                UUID(uuidString: try await topology.createBuilding(tenant: context.tenant, site: siteID, name: "B", logger: self.logger).id)
            )
            let unit = try #require(
                UUID(
                    uuidString: try await topology.createUnit(
                        tenant: context.tenant,
                        site: siteID,
                        building: building,
                        dialNumber: "201",
                        floor: nil,
                        ringSeconds: 5,
                        logger: self.logger
                    ).id
                )
            )
            let eve = try await people.create(tenant: context.tenant, PersonInput(kind: .resident, displayName: "Eve"), logger: self.logger).id
            #expect(try await topology.setResident(tenant: context.tenant, unit: unit, person: eve, role: "owner", logger: self.logger))
            let (phone, secret) = try await devices.create(
                tenant: context.tenant,
                DeviceInput(siteId: siteID, kind: .sipPhone, name: "Eve's phone", unitId: unit, personId: eve, sipUsername: "eve-phone"),
                logger: self.logger
            )
            let device = Device(id: phone.id, username: secret.username, password: secret.password)
            let refused = try await self.callsTheStation(context, device, scenario: try Self.callExpecting(final: 403))
            #expect(refused.status == 0, "\(refused.output)")
            // The station itself may not call itself either, and a name that is no station is 404.
            let unknown = try await self.sipp(
                context,
                scenario: try Self.callExpecting(final: 404),
                users: [self.account(context, context.phone) + ["nobody"]],
                authURI: "nobody@\(context.domain)"
            )
            #expect(unknown.status == 0, "\(unknown.output)")
        }
    }
}
