import Foundation
import GatehouseWire
import Testing

@Suite struct GoldenFixtureTests {
    /// Encoder output must equal the committed bytes: a change to the wire shows up here.
    @Test(arguments: try WireSamples.all().map(\.name))
    func encoderOutputMatchesFixture(name: String) throws {
        let sample = try #require(try WireSamples.all().first { $0.name == name })
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        let fixture = try Data(contentsOf: url)
        #expect(String(decoding: sample.json, as: UTF8.self) == String(decoding: fixture, as: UTF8.self))
    }

    @Test func eventsRoundTrip() throws {
        let data = try WireCoding.encode(WireSamples.serviceStarted)
        let decoded = try WireCoding.decode(CloudEvent<ServiceStarted>.self, from: data)
        #expect(decoded == WireSamples.serviceStarted)
        #expect(decoded.time == WireSamples.serviceStarted.time)
        let header = try WireCoding.decode(CloudEventHeader.self, from: data)
        #expect(header.type == "io.gatehouse.system.service_started.v1")
        #expect(header.tenantid == .operator)
    }

    @Test func decodingRejectsAnotherType() throws {
        let data = try WireCoding.encode(WireSamples.serviceStopping)
        #expect(throws: DecodingError.self) { try WireCoding.decode(CloudEvent<ServiceStarted>.self, from: data) }
    }

    @Test func repliesRoundTrip() throws {
        let ok = RPCReply<PingReply>.result(WireSamples.pingReply)
        #expect(try WireCoding.decode(RPCReply<PingReply>.self, from: WireCoding.encode(ok)) == ok)
        let failure = RPCReply<PingReply>.error(WireError(code: .notFound, message: "no such door"))
        let decoded = try WireCoding.decode(RPCReply<PingReply>.self, from: WireCoding.encode(failure))
        #expect(throws: WireError(code: .notFound, message: "")) { try decoded.get() }
    }

    /// The audit log records only catalogued types: every event sample must be in the catalogue.
    @Test func everyEventSampleIsCatalogued() throws {
        let events = try WireSamples.all().filter { $0.name.hasPrefix("events/") }
        #expect(events.count == EventCatalog.all.count)
        for (name, json) in events {
            let header = try WireCoding.decode(CloudEventHeader.self, from: json)
            #expect(EventCatalog.contains(type: header.type), "\(name)")
            #expect(name == "events/\(header.type)")
        }
    }

    @Test func identityRepliesRoundTripWithLowerCaseIDs() throws {
        func roundTrip<T: Codable & Equatable>(_ value: T) throws {
            let data = try WireCoding.encode(value)
            #expect(try WireCoding.decode(T.self, from: data) == value)
            // Ids are lower-case on the wire.
            let text = String(decoding: data, as: UTF8.self)
            let ids = text.matches(of: /[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}/).map { String($0.output) }
            #expect(!ids.isEmpty && ids.allSatisfy { $0 == $0.lowercased() }, "\(text)")
        }
        try roundTrip(WireSamples.sipAccount)
        try roundTrip(WireSamples.dialPlan)
        try roundTrip(WireSamples.deviceInfo)
        try roundTrip(WireSamples.personInfo)
        try roundTrip(DeviceLookup(deviceId: WireSamples.door))
        try roundTrip(PersonLookup(personId: WireSamples.person))
    }

    @Test func timesAreUTCWithMilliseconds() throws {
        #expect(WireCoding.format(Date(timeIntervalSince1970: 0.5)) == "1970-01-01T00:00:00.500Z")
        #expect(WireCoding.parse("2026-11-22T08:15:30Z") == Date(timeIntervalSince1970: 1_795_335_330))
        #expect(WireCoding.parse("yesterday") == nil)
    }

    @Test(arguments: [
        (0.0, "1970-01-01T00:00:00.000Z"), (-0.001, "1969-12-31T23:59:59.999Z"), (951_782_400.0, "2000-02-29T00:00:00.000Z"),
        (1_795_335_330.1, "2026-11-22T08:15:30.100Z"), (1_795_335_330.0996, "2026-11-22T08:15:30.100Z"),
        (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
    ])
    func formatsAnyDateAndRoundsToMilliseconds(seconds: Double, text: String) {
        #expect(WireCoding.format(Date(timeIntervalSince1970: seconds)) == text)
        #expect(WireCoding.parse(text).map(WireCoding.format) == text)
    }

    @Test func formattingMatchesFoundationOverARangeOfDates() {
        let foundation = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
        for step in 0..<2000 {
            let date = Date(timeIntervalSince1970: -2_000_000_000 + Double(step) * 3_123_457.25)
            #expect(WireCoding.format(date) == date.formatted(foundation))
        }
    }

    @Test func outputHasSortedKeys() throws {
        let text = String(decoding: try WireCoding.encode(WireSamples.pingReply), as: UTF8.self)
        let keys = ["instance", "service", "startedAt", "version"].map { text.range(of: "\"\($0)\"")!.lowerBound }
        #expect(keys == keys.sorted())
    }
}

@Suite struct SubjectTests {
    let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!

    @Test func eventSubjectsAreTenantScoped() {
        #expect(
            Subjects.event(ServiceStarted.eventType, tenant: self.tenant)
                == "gatehouse.v1.evt.7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10.system.service_started"
        )
        #expect(Subjects.events(of: self.tenant) == "gatehouse.v1.evt.7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10.>")
        #expect(Subjects.event(EventType(domain: "access", name: "door_unlocked", version: 2), tenant: self.tenant).hasSuffix(".door_unlocked.v2"))
    }

    @Test func requestSubjects() {
        #expect(Ping(service: .mediaRelay).method.subject == "gatehouse.v1.rpc.media-relay.ping")
    }

    @Test func parsesEventSubjects() throws {
        let parsed = try #require(Subjects.parseEvent("gatehouse.v1.evt.\(self.tenant).access.door_unlocked.v2"))
        #expect(parsed.tenant == self.tenant)
        #expect(parsed.domain == "access" && parsed.name == "door_unlocked" && parsed.version == 2)
        #expect(Subjects.parseEvent("gatehouse.v1.evt.not-a-uuid.access.x") == nil)
        #expect(Subjects.parseEvent("gatehouse.v1.rpc.identity.ping") == nil)
        #expect(Subjects.parseEvent("gatehouse.v1.evt.\(self.tenant).access.x.v1") == nil)
    }

    @Test(arguments: ["", "a.b", "a*", ">", "a b"])
    func invalidTokens(token: String) {
        #expect(!Subjects.isValidToken(token))
    }

    @Test func lowercasedUUIDStringsMatchFoundation() {
        for _ in 0..<100 {
            let uuid = UUID()
            #expect(uuid.lowercasedString == uuid.uuidString.lowercased())
        }
    }

    @Test func tenantIDsAreLowerCase() throws {
        let id = try #require(TenantID("7C0E5A4E-3F0B-4B8E-9A55-2F1D6C2B9E10"))
        #expect(id.description == "7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")
        #expect(TenantID.operator.description == "00000000-0000-0000-0000-000000000000")
    }
}

@Suite struct TraceParentTests {
    @Test func parsesAndPropagates() throws {
        let parent = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        let child = parent.child()
        #expect(child.traceID == parent.traceID)
        #expect(child.parentID != parent.parentID)
        #expect(TraceParent(child.description) == child)
    }

    @Test(arguments: [
        "", "00-0000000000000000000000000000000-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ])
    func rejectsMalformed(header: String) {
        #expect(TraceParent(header) == nil)
    }
}
