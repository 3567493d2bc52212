import Foundation
import GatehouseAuth
import GatehouseNATS
import GatehouseWire
import HTTPTypes
import IdentityService
import ServiceKitTesting
import SignalingService
import Testing

/// A site's call hours (access control's) decide which steps of a ring plan ring (decision 0021).
extension SignalingRegistrarTests {
    @Test func afterHoursTheResidentsAreSkippedAndOnlyTheNightFallbackRings() async throws {
        try await self.withSignaling(access: true) { context in
            try await self.withAccessAPI(context) { client in
                let admin = try self.token(.tenantAdmin, tenant: context.tenant)
                let path = "/v1/tenants/\(context.tenant)/sites/\(context.site.lowercasedString)/call-hours"
                #expect(try await self.request(client, .get, path, token: admin).status == .notFound)
                let invalid = try await self.request(client, .put, path, token: admin, body: #"{"hours": [], "unitsAfterHours": "maybe"}"#)
                #expect(invalid.status == .badRequest)
                #expect(invalid.json["type"] as? String == "urn:gatehouse:problem:invalid-request")
                #expect(
                    Set(((invalid.json["errors"] as? [[String: Any]]) ?? []).compactMap { $0["field"] as? String }) == ["hours", "unitsAfterHours"]
                )
                // Business hours only on the site's holidays, and it has none: after hours now.
                let holidaysOnly = #"[{"days": ["hol"], "from": "09:00", "to": "17:00"}]"#
                let put = try await self.request(client, .put, path, token: admin, body: #"{"hours": \#(holidaysOnly), "unitsAfterHours": "skip"}"#)
                #expect(put.status == .ok)
                #expect(put.json["afterHoursNow"] as? Bool == true && put.json["unitsAfterHours"] as? String == "skip")
                let other = try self.token(.tenantAdmin, tenant: TenantID(UUID()))
                #expect(try await self.request(client, .get, path, token: other).status == .notFound)
                #expect(try await self.request(client, .get, path, token: admin).json["timeZone"] as? String == "Europe/Berlin")
            }
            // The concierge twice: the day desk (business hours) and the night desk (after hours).
            try await DeviceStore(client: context.postgres).setFallbacks(
                tenant: context.tenant,
                site: context.site,
                building: nil,
                [
                    .init(position: 1, staff: context.concierge, ringSeconds: 10, hours: .business),
                    .init(position: 2, staff: context.concierge, ringSeconds: 10, hours: .afterHours),
                ],
                logger: self.logger
            )
            try await self.collectingEvents(context, domain: "signaling") { seen in
                // Ada's phone is registered, but after hours this site does not ring its residents.
                let registered = try await self.sipp(
                    context,
                    scenario: SIPScenarios.register(expires: 300, final: 200),
                    users: [self.account(context, context.phone)],
                    localPort: Int.random(in: 20_000..<25_000)
                )
                #expect(registered.status == 0, "\(registered.output)")
                let desk = try await self.phone(context, context.desk, port: Int.random(in: 25_000..<30_000), scenario: "resident-answers")
                let call = try await self.doorCalls(context, "101")
                #expect(call.status == 0, "\(call.output)")
                #expect(try await desk.value.status == 0)
                let expected = [
                    CallStarted.eventType, CallFallback.eventType, CallFallback.eventType, CallRinging.eventType, CallAnswered.eventType,
                    CallEnded.eventType,
                ].map(\.type)
                #expect(try await eventually { seen.withLock { $0.count } >= expected.count })
                let messages = seen.withLock { $0 }
                #expect(try messages.map { try WireCoding.decode(CloudEventHeader.self, from: Data($0.payload)).type } == expected)
                let fallbacks = try messages.filter { $0.subject.hasSuffix(".call_fallback") }.map {
                    try WireCoding.decode(CloudEvent<CallFallback>.self, from: Data($0.payload)).data
                }
                #expect(fallbacks.map(\.reason) == [.outsideHours, .outsideHours])
                #expect(fallbacks.map(\.toStep) == [1, 2])
                let ringing = try messages.first { $0.subject.hasSuffix(".call_ringing") }.map {
                    try WireCoding.decode(CloudEvent<CallRinging>.self, from: Data($0.payload)).data
                }
                #expect(ringing?.step == 2 && ringing?.stepKind == .staff)
            }
        }
    }
}
