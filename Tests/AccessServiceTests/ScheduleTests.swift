import AccessService
import Foundation
import GatehouseWire
import Testing

/// Weekly schedules and site times across daylight-saving changes (Europe/Berlin: 2026-03-29 and
/// 2026-10-25; America/New_York: 2026-03-08 and 2026-11-01).
struct ScheduleTests {
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    static let newYork = TimeZone(identifier: "America/New_York")!

    static func utc(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    /// Sundays 08:00–18:00 and every day 02:00–03:00 (the hour clocks skip or repeat).
    static let schedule = WeeklySchedule(windows: [
        .init(days: [7], start: 8 * 60, end: 18 * 60),
        .init(days: Set(1...7), start: 2 * 60, end: 3 * 60),
    ])

    @Test func berlinWindowsFollowTheWallClockOnBothChanges() {
        // Sunday 08:00 local is 07:00Z in winter, 06:00Z in summer.
        #expect(Self.schedule.contains(Self.utc("2026-03-22T07:00:00Z"), timeZone: Self.berlin))
        #expect(!Self.schedule.contains(Self.utc("2026-03-22T06:59:00Z"), timeZone: Self.berlin))
        #expect(Self.schedule.contains(Self.utc("2026-03-29T06:00:00Z"), timeZone: Self.berlin))
        #expect(!Self.schedule.contains(Self.utc("2026-03-29T05:59:00Z"), timeZone: Self.berlin))
        #expect(!Self.schedule.contains(Self.utc("2026-03-29T16:00:00Z"), timeZone: Self.berlin))  // 18:00 CEST: end excluded
        // Spring forward: 01:59 CET is followed by 03:00 CEST; the 02:00 window never opens.
        #expect(!Self.schedule.contains(Self.utc("2026-03-29T00:59:00Z"), timeZone: Self.berlin))
        #expect(!Self.schedule.contains(Self.utc("2026-03-29T01:00:00Z"), timeZone: Self.berlin))
        #expect(Self.schedule.contains(Self.utc("2026-03-28T01:30:00Z"), timeZone: Self.berlin))  // the day before: 02:30 CET
        // Fall back on Sunday 2026-10-25: 02:00–03:00 happens twice (00:00Z–01:00Z CEST, 01:00Z–02:00Z CET).
        #expect(Self.schedule.contains(Self.utc("2026-10-25T00:30:00Z"), timeZone: Self.berlin))
        #expect(Self.schedule.contains(Self.utc("2026-10-25T01:30:00Z"), timeZone: Self.berlin))
        #expect(!Self.schedule.contains(Self.utc("2026-10-25T02:00:00Z"), timeZone: Self.berlin))
        // And Sunday 08:00 is 07:00Z again.
        #expect(Self.schedule.contains(Self.utc("2026-10-25T07:00:00Z"), timeZone: Self.berlin))
        #expect(!Self.schedule.contains(Self.utc("2026-10-25T06:59:00Z"), timeZone: Self.berlin))
    }

    @Test func newYorkWindowsFollowTheWallClockOnBothChanges() {
        // Spring forward Sunday 2026-03-08 at 02:00 EST → 03:00 EDT: 08:00 EDT is 12:00Z.
        #expect(Self.schedule.contains(Self.utc("2026-03-08T12:00:00Z"), timeZone: Self.newYork))
        #expect(!Self.schedule.contains(Self.utc("2026-03-08T11:59:00Z"), timeZone: Self.newYork))
        #expect(!Self.schedule.contains(Self.utc("2026-03-08T07:00:00Z"), timeZone: Self.newYork))  // 03:00 EDT
        // Fall back Sunday 2026-11-01: 01:00–02:00 twice, 08:00 EST is 13:00Z.
        #expect(Self.schedule.contains(Self.utc("2026-11-01T13:00:00Z"), timeZone: Self.newYork))
        #expect(!Self.schedule.contains(Self.utc("2026-11-01T12:59:00Z"), timeZone: Self.newYork))
        #expect(Self.schedule.contains(Self.utc("2026-11-01T07:30:00Z"), timeZone: Self.newYork))  // 02:30 EST
    }

    @Test func siteTimesRefuseSkippedAndTakeTheFirstOfRepeatedWallClocks() {
        #expect(SiteTime.instant("2026-03-29T02:30", in: Self.berlin) == .failure(.skipped))
        #expect(SiteTime.instant("2026-03-08T02:30", in: Self.newYork) == .failure(.skipped))
        #expect(SiteTime.instant("2026-10-25T02:30", in: Self.berlin) == .success(Self.utc("2026-10-25T00:30:00Z")))
        #expect(SiteTime.instant("2026-11-01T01:30", in: Self.newYork) == .success(Self.utc("2026-11-01T05:30:00Z")))
        #expect(SiteTime.instant("2026-07-01T09:00", in: Self.berlin) == .success(Self.utc("2026-07-01T07:00:00Z")))
        #expect(SiteTime.instant("2026-07-01T09:00:00+02:00", in: Self.newYork) == .success(Self.utc("2026-07-01T07:00:00Z")))
        for bad in ["2026-02-30T09:00", "2026-13-01T09:00", "tomorrow", "2026-07-01T24:00", ""] {
            #expect(SiteTime.instant(bad, in: Self.berlin) == .failure(.malformed), "\(bad)")
        }
    }

    @Test func schedulesParseFromTheAPIShape() throws {
        let parsed = try WeeklySchedule.parse([["days": ["mon", "FRI"], "from": "08:00", "to": "00:00"]]).get()
        #expect(parsed.windows == [.init(days: [1, 5], start: 480, end: 1440)])
        #expect(parsed.json.first?["to"] as? String == "00:00")
        for bad: Any in [
            [], [["days": ["mon"], "from": "18:00", "to": "08:00"]], [["days": ["someday"], "from": "08:00", "to": "09:00"]],
            [["days": ["mon"], "from": "8:00", "to": "09:00"]], "mon", [["days": ["mon"], "from": "08:00", "to": "09:00", "x": 1]],
        ] {
            guard case .failure = WeeklySchedule.parse(bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
        }
    }
}

/// A site's call hours (decision 0021): business hours on the site's wall clock, its holidays
/// outside them unless a `hol` window says otherwise.
struct CallHoursTests {
    /// Weekdays 08:00–18:00, holidays 10:00–12:00.
    static let policy = CallHoursPolicy(
        hours: WeeklySchedule(windows: [.init(days: Set(1...5), start: 8 * 60, end: 18 * 60), .init(days: [8], start: 10 * 60, end: 12 * 60)]),
        unitsRingAfterHours: false
    )

    @Test func businessHoursAreTheSitesWallClockAndHolidaysUseTheirOwnWindows() throws {
        let berlin = ScheduleTests.berlin
        // Monday 2026-03-30 (CEST): 08:00 local is 06:00Z.
        #expect(!Self.policy.state(at: ScheduleTests.utc("2026-03-30T06:00:00Z"), timeZone: berlin, holidays: HolidayCalendar()).afterHours)
        #expect(Self.policy.state(at: ScheduleTests.utc("2026-03-30T05:59:00Z"), timeZone: berlin, holidays: HolidayCalendar()).afterHours)
        #expect(Self.policy.state(at: ScheduleTests.utc("2026-03-30T16:00:00Z"), timeZone: berlin, holidays: HolidayCalendar()).afterHours)
        // Saturday: after hours all day; the units' residents are skipped, as the site says.
        let saturday = Self.policy.state(at: ScheduleTests.utc("2026-03-28T11:00:00Z"), timeZone: berlin, holidays: HolidayCalendar())
        #expect(saturday.afterHours && !saturday.unitsRingAfterHours)
        // Easter Monday as a holiday: only 10:00–12:00 is business hours.
        var holidays = HolidayCalendar()
        holidays.days[try #require(LocalDate("2026-04-06"))] = "Easter Monday"
        #expect(Self.policy.state(at: ScheduleTests.utc("2026-04-06T07:00:00Z"), timeZone: berlin, holidays: holidays).afterHours)
        #expect(!Self.policy.state(at: ScheduleTests.utc("2026-04-06T08:30:00Z"), timeZone: berlin, holidays: holidays).afterHours)
    }
}
