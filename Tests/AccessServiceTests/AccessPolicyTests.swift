import AccessService
import Foundation
import GatehouseWire
import Testing

/// The one decision function: authority refined by lockdown, exceptions, free access, groups,
/// door hours and holidays, on the site's wall clock (Europe/Berlin and America/New_York, across
/// their 2026 daylight-saving changes).
struct AccessPolicyTests {
    static let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!
    static let site = UUID()

    static func door(zone: String = "Europe/Berlin") -> DoorInfo {
        DoorInfo(id: UUID(), tenantId: tenant, siteId: site, buildingId: nil, name: "Gym", kind: "door", timeZone: zone, stations: [])
    }

    static func utc(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// Every day 06:00–22:00.
    static let daytime = WeeklySchedule(windows: [.init(days: Set(1...7), start: 6 * 60, end: 22 * 60)])

    @Test func doorHoursRefuseResidentsAtNightButNotStaffAcrossTheBerlinChanges() {
        let gym = Self.door()
        let site = SitePolicy(doors: [gym.id: DoorPolicy(hours: Self.daytime)])
        // 2026-03-29 (spring forward): 06:00 CEST is 04:00Z; 05:59 CEST is still night.
        #expect(AccessPolicy.decide(authority: .resident, door: gym, site: site, at: Self.utc("2026-03-29T04:00:00Z")) == .resident)
        #expect(AccessPolicy.decide(authority: .resident, door: gym, site: site, at: Self.utc("2026-03-29T03:59:00Z")) == .invalidTime)
        // 2026-10-25 (fall back): 06:00 CET is 05:00Z.
        #expect(AccessPolicy.decide(authority: .resident, door: gym, site: site, at: Self.utc("2026-10-25T04:30:00Z")) == .invalidTime)
        #expect(AccessPolicy.decide(authority: .resident, door: gym, site: site, at: Self.utc("2026-10-25T05:00:00Z")) == .resident)
        #expect(AccessPolicy.decide(authority: .staff, door: gym, site: site, at: Self.utc("2026-10-25T02:00:00Z")) == .staff)
        #expect(AccessPolicy.decide(authority: .pass, door: gym, site: site, at: Self.utc("2026-10-25T02:00:00Z")) == .invalidTime)
    }

    @Test func groupsGrantTheirDoorsOnTheirScheduleOnTheNewYorkWallClock() {
        let laundry = Self.door(zone: "America/New_York")
        let cleaners = AccessGroup(
            id: UUID(),
            siteId: Self.site,
            name: "Cleaners",
            doorIds: [laundry.id],
            // Sundays 01:00–04:00: on 2026-03-08 02:00–03:00 does not exist, on 2026-11-01 01:00–02:00 happens twice.
            schedule: WeeklySchedule(windows: [.init(days: [7], start: 60, end: 240)])
        )
        let site = SitePolicy(groups: [cleaners.id: cleaners])
        func decide(_ member: Bool, _ time: String) -> AccessReason {
            AccessPolicy.decide(authority: .noAuthority, memberships: member ? [cleaners.id] : [], door: laundry, site: site, at: Self.utc(time))
        }
        // Spring forward: 03:59 EDT (07:59Z) is in; 04:00 EDT (08:00Z) is out.
        #expect(decide(true, "2026-03-08T07:59:00Z") == .group)
        #expect(decide(true, "2026-03-08T08:00:00Z") == .invalidTime)
        #expect(decide(true, "2026-03-08T05:59:00Z") == .invalidTime)  // 00:59 EST
        // Fall back: both 01:30s (05:30Z EDT and 06:30Z EST) are in; 04:00 EST (09:00Z) is out.
        #expect(decide(true, "2026-11-01T05:30:00Z") == .group)
        #expect(decide(true, "2026-11-01T06:30:00Z") == .group)
        #expect(decide(true, "2026-11-01T08:59:00Z") == .group)
        #expect(decide(true, "2026-11-01T09:00:00Z") == .invalidTime)
        // Not a member, or a group without the door: no authority.
        #expect(decide(false, "2026-11-01T05:30:00Z") == .noAuthority)
        let other = Self.door(zone: "America/New_York")
        #expect(
            AccessPolicy.decide(authority: .noAuthority, memberships: [cleaners.id], door: other, site: site, at: Self.utc("2026-11-01T05:30:00Z"))
                == .noAuthority
        )
    }

    @Test func onAHolidayOnlyHolidayWindowsApply() {
        let lobby = Self.door()
        // Weekdays 08:00–18:00, holidays 10:00–12:00.
        let schedule = WeeklySchedule(windows: [
            .init(days: Set(1...5), start: 8 * 60, end: 18 * 60), .init(days: [WeeklySchedule.holiday], start: 10 * 60, end: 12 * 60),
        ])
        let christmas = HolidayCalendar(days: [LocalDate(year: 2026, month: 12, day: 25): "Christmas Day"])
        let site = SitePolicy(holidays: christmas, doors: [lobby.id: DoorPolicy(hours: schedule)])
        // Friday 2026-12-25 09:00 CET is a holiday: closed; 10:30 CET open. Friday 2026-12-18 09:00 open.
        #expect(AccessPolicy.decide(authority: .resident, door: lobby, site: site, at: Self.utc("2026-12-25T08:00:00Z")) == .invalidTime)
        #expect(AccessPolicy.decide(authority: .resident, door: lobby, site: site, at: Self.utc("2026-12-25T09:30:00Z")) == .resident)
        #expect(AccessPolicy.decide(authority: .resident, door: lobby, site: site, at: Self.utc("2026-12-18T08:00:00Z")) == .resident)
        // The holiday is a date on the site's clock: 23:30Z on the 24th is already the 25th in Berlin.
        #expect(schedule.contains(Self.utc("2026-12-24T23:30:00Z"), timeZone: TimeZone(identifier: "Europe/Berlin")!, holidays: christmas) == false)
        #expect(schedule.contains(Self.utc("2026-12-24T16:30:00Z"), timeZone: TimeZone(identifier: "Europe/Berlin")!, holidays: christmas))
    }

    @Test func exceptionsAndFreeAccessWindowsOverrideTheUsualRules() {
        let lobby = Self.door()
        let now = Self.utc("2026-06-10T10:00:00Z")
        let locked = DoorException(
            id: UUID(),
            siteId: Self.site,
            doorId: lobby.id,
            startsAt: now.addingTimeInterval(-60),
            endsAt: now.addingTimeInterval(3600),
            mode: .locked,
            note: "painting"
        )
        var site = SitePolicy(exceptions: [locked])
        #expect(AccessPolicy.decide(authority: .resident, door: lobby, site: site, at: now) == .apLocked)
        #expect(AccessPolicy.decide(authority: .staff, door: lobby, site: site, at: now) == .staff)
        #expect(AccessPolicy.decide(authority: .administrator, door: lobby, site: site, at: now) == .administrator)
        #expect(AccessPolicy.decide(authority: .resident, door: lobby, site: site, at: now.addingTimeInterval(3600)) == .resident)
        // A site-wide open exception starting later wins over the lock while both apply.
        let open = DoorException(
            id: UUID(),
            siteId: Self.site,
            doorId: nil,
            startsAt: now,
            endsAt: now.addingTimeInterval(600),
            mode: .open,
            note: nil
        )
        site.exceptions.append(open)
        #expect(AccessPolicy.decide(authority: .noAuthority, door: lobby, site: site, at: now) == .freeAccess)
        // Free access on weekday mornings: anyone recognised; not a wrong credential.
        let mornings = WeeklySchedule(windows: [.init(days: Set(1...5), start: 7 * 60, end: 9 * 60)])
        let free = SitePolicy(doors: [lobby.id: DoorPolicy(freeAccess: mornings)])
        #expect(AccessPolicy.decide(authority: .noAuthority, door: lobby, site: free, at: Self.utc("2026-06-10T06:30:00Z")) == .freeAccess)
        #expect(AccessPolicy.decide(authority: .noAuthority, door: lobby, site: free, at: Self.utc("2026-06-10T08:30:00Z")) == .noAuthority)
        #expect(
            AccessPolicy.decide(authority: .invalidCredential, door: lobby, site: free, at: Self.utc("2026-06-10T06:30:00Z")) == .invalidCredential
        )
    }

    @Test func lockdownLeavesOnlyStaffAndAdministrators() {
        let lobby = Self.door()
        let open = DoorException(
            id: UUID(),
            siteId: Self.site,
            doorId: nil,
            startsAt: .distantPast,
            endsAt: .distantFuture,
            mode: .open,
            note: nil
        )
        let site = SitePolicy(lockdown: true, exceptions: [open])
        let now = Date()
        #expect(AccessPolicy.decide(authority: .resident, door: lobby, site: site, at: now) == .lockdown)
        #expect(AccessPolicy.decide(authority: .pass, door: lobby, site: site, at: now) == .lockdown)
        #expect(AccessPolicy.decide(authority: .staff, door: lobby, site: site, at: now) == .staff)
        #expect(AccessPolicy.decide(authority: .administrator, door: lobby, site: site, at: now) == .administrator)
        // A credential's own refusal stays what it is.
        #expect(AccessPolicy.decide(authority: .revoked, door: lobby, site: site, at: now) == .revoked)
    }
}

/// Card, plate and template values, and phones' signed requests.
struct CredentialValueTests {
    @Test func wiegandFramesAndFacilityNumbersNameTheSameCard() throws {
        let bits = CredentialValue.wiegandBits(facility: 123, number: 45_678, length: 26)
        #expect(bits.count == 26)
        #expect(try CredentialValue.card(CardRead(format: "wiegand26", value: bits)).get() == "w26:123:45678")
        #expect(try CredentialValue.card(CardRead(format: "wiegand26", value: "123:45678")).get() == "w26:123:45678")
        // One flipped bit fails the parity check.
        var flipped = Array(bits)
        flipped[5] = flipped[5] == "1" ? "0" : "1"
        #expect(throws: CredentialValueError.self) { try CredentialValue.card(CardRead(format: "wiegand26", value: String(flipped))).get() }
        let long = CredentialValue.wiegandBits(facility: 60_000, number: 1, length: 34)
        #expect(try CredentialValue.card(CardRead(format: "wiegand34", value: long)).get() == "w34:60000:1")
        #expect(throws: CredentialValueError.self) { try CredentialValue.card(CardRead(format: "wiegand26", value: "256:1")).get() }
        #expect(try CredentialValue.card(CardRead(format: "uid", value: "04:A2:3B:1C:5D:80:7F")).get() == "uid:04a23b1c5d807f")
        #expect(throws: CredentialValueError.self) { try CredentialValue.card(CardRead(format: "uid", value: "04a23b")).get() }
        #expect(throws: CredentialValueError.self) { try CredentialValue.card(CardRead(format: "mifare", value: "1")).get() }
    }

    @Test func platesIgnoreCaseSpacesAndHyphens() throws {
        #expect(try CredentialValue.plate("b-ab 1234").get() == "BAB1234")
        #expect(throws: CredentialValueError.self) { try CredentialValue.plate("B-ÄB 1").get() }
        #expect(throws: CredentialValueError.self) { try CredentialValue.plate("X").get() }
    }

    @Test func mobileKeysAcceptFreshSignedRequestsOnly() throws {
        let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!
        let door = UUID()
        let phone = MobileKeySigner()
        let now = Date()
        let proof = phone.proof(credential: UUID(), tenant: tenant, door: door, at: now)
        // The key as the phone registers it (base64 X9.63), read back as access reads it.
        let key = try CredentialValue.publicKey(phone.publicKeyBase64).get()
        let otherKey = try CredentialValue.publicKey(MobileKeySigner().publicKeyBase64).get()
        #expect(throws: CredentialValueError.self) { try CredentialValue.publicKey("bm90IGEga2V5").get() }
        guard case .valid(let nonce) = MobileKeyCheck.check(proof, key: key, tenant: tenant, door: door, now: now) else {
            Issue.record("a fresh signed request is valid")
            return
        }
        #expect(nonce.count == 16)
        // Another door, another phone, or 31 s later: refused.
        #expect(MobileKeyCheck.check(proof, key: key, tenant: tenant, door: UUID(), now: now) == .badSignature)
        #expect(MobileKeyCheck.check(proof, key: otherKey, tenant: tenant, door: door, now: now) == .badSignature)
        #expect(MobileKeyCheck.check(proof, key: key, tenant: tenant, door: door, now: now.addingTimeInterval(31)) == .stale)
        var short = proof
        short.nonce = "AAAA"
        #expect(MobileKeyCheck.check(short, key: key, tenant: tenant, door: door, now: now) == .malformed)
    }
}
