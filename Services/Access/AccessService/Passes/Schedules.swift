package import Foundation

/// Weekly windows in a site's IANA time zone ("Mon–Fri 08:00–18:00"), evaluated on the local wall
/// clock, so they hold across daylight-saving changes: 08:00 is 08:00 the day clocks go forward.
package struct WeeklySchedule: Sendable, Hashable, Codable {
    package struct Window: Sendable, Hashable, Codable {
        /// ISO weekdays, 1 = Monday … 7 = Sunday.
        package var days: Set<Int>
        /// Minutes after local midnight: `start` included, `end` excluded (1440 = midnight).
        package var start: Int
        package var end: Int

        package init(days: Set<Int>, start: Int, end: Int) {
            self.days = days
            self.start = start
            self.end = end
        }
    }

    package var windows: [Window]

    package init(windows: [Window]) { self.windows = windows }

    /// Limits: at most 14 windows.
    package static let maxWindows = 14
    /// `hol` is day 8: on a date of the site's holiday calendar a window of `hol` applies and the
    /// weekday's windows do not.
    package static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "hol"]
    package static let holiday = 8

    /// Whether `instant` falls in a window, read on the wall clock of `timeZone`; on a date of
    /// `holidays` only `hol` windows count.
    package func contains(_ instant: Date, timeZone: TimeZone, holidays: HolidayCalendar = HolidayCalendar()) -> Bool {
        let clock = Self.wallClock(instant, timeZone: timeZone)
        let day = holidays.contains(clock.date) ? Self.holiday : clock.day
        return self.windows.contains { $0.days.contains(day) && clock.minute >= $0.start && clock.minute < $0.end }
    }

    /// The ISO weekday, minute of the day and local date of `instant` in `timeZone`.
    static func wallClock(_ instant: Date, timeZone: TimeZone) -> (day: Int, minute: Int, date: LocalDate) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = calendar.dateComponents([.year, .month, .day, .weekday, .hour, .minute], from: instant)
        // Foundation counts Sunday = 1 … Saturday = 7.
        let day = ((components.weekday ?? 1) + 5) % 7 + 1
        let date = LocalDate(year: components.year ?? 1970, month: components.month ?? 1, day: components.day ?? 1)
        return (day, (components.hour ?? 0) * 60 + (components.minute ?? 0), date)
    }

    /// Reads `[{"days": ["mon", …], "from": "08:00", "to": "18:00"}, …]`; the message names the
    /// first problem.
    package static func parse(_ value: Any) -> Result<WeeklySchedule, ScheduleError> {
        guard let list = value as? [Any], (1...Self.maxWindows).contains(list.count) else {
            return .failure(ScheduleError("must be a list of 1 to \(Self.maxWindows) windows"))
        }
        var windows: [Window] = []
        for item in list {
            guard let object = item as? [String: Any], Set(object.keys).isSubset(of: ["days", "from", "to"]),
                let days = object["days"] as? [String], !days.isEmpty,
                let from = (object["from"] as? String).flatMap(Self.minutes), let to = (object["to"] as? String).flatMap(Self.minutes)
            else {
                return .failure(ScheduleError(#"each window is {"days": ["mon", …], "from": "HH:MM", "to": "HH:MM"}"#))
            }
            var numbers = Set<Int>()
            for day in days {
                guard let index = Self.dayNames.firstIndex(of: day.lowercased()) else {
                    return .failure(ScheduleError("days are mon, tue, wed, thu, fri, sat, sun, hol (a holiday of the site)"))
                }
                numbers.insert(index + 1)
            }
            let end = to == 0 ? 1440 : to
            guard from < end else { return .failure(ScheduleError("a window's \"to\" must be after its \"from\" (00:00 means midnight at the end)")) }
            windows.append(Window(days: numbers, start: from, end: end))
        }
        return .success(WeeklySchedule(windows: windows))
    }

    /// "HH:MM" → minutes after midnight.
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0..<24).contains(hours), (0..<60).contains(minutes)
        else { return nil }
        return hours * 60 + minutes
    }

    /// `[{"days": […], "from", "to"}]` as the API shows it.
    package var json: [[String: Any]] {
        self.windows.map { window in
            func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", (minutes / 60) % 24, minutes % 60) }
            return ["days": window.days.sorted().map { Self.dayNames[$0 - 1] }, "from": clock(window.start), "to": clock(window.end)]
        }
    }
}

/// A calendar date on a site's wall clock.
package struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var year: Int
    package var month: Int
    package var day: Int

    package init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`, a date that exists.
    package init?(_ text: String) {
        guard let match = text.wholeMatch(of: /(\d{4})-(\d{2})-(\d{2})/), let year = Int(match.1), let month = Int(match.2),
            let day = Int(match.3), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    package var description: String { String(format: "%04d-%02d-%02d", self.year, self.month, self.day) }

    package static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// A site's public holidays: dates on its wall clock on which schedules use their `hol` windows.
package struct HolidayCalendar: Sendable, Hashable {
    package var days: [LocalDate: String]

    package init(days: [LocalDate: String] = [:]) { self.days = days }

    package func contains(_ date: LocalDate) -> Bool { self.days[date] != nil }

    /// Limits: at most 100 holidays per site, names up to 100 characters.
    package static let maxDays = 100
}

package struct ScheduleError: Error, Sendable {
    package var message: String
    init(_ message: String) { self.message = message }
}

/// Times people type for a site: either an instant with an offset (RFC 3339,
/// `2026-03-29T09:00:00+02:00`) or a wall-clock time in the site's zone (`2026-03-29T09:00`).
package enum SiteTime {
    package enum Failure: Error, Equatable, Sendable {
        case malformed
        /// The wall-clock time does not exist in the zone: clocks skip it (spring forward).
        case skipped
    }

    /// The instant `text` names in `timeZone`. A wall-clock time the zone repeats (fall back) is
    /// its first occurrence; one the zone skips is refused.
    package static func instant(_ text: String, in timeZone: TimeZone) -> Result<Date, Failure> {
        if text.count > 16, let date = try? Date(text, strategy: .iso8601) { return .success(date) }
        let pattern = /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/
        guard let match = text.wholeMatch(of: pattern), let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
            let hour = Int(match.4), let minute = Int(match.5), (1...12).contains(month), (1...31).contains(day), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { return .failure(.malformed) }
        let second = match.6.flatMap { Int($0) } ?? 0
        guard (0..<60).contains(second) else { return .failure(.malformed) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let wanted = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        // The earliest instant whose wall clock reads `wanted`: try the zone's offsets around it.
        guard let guess = calendar.date(from: wanted) else { return .failure(.malformed) }
        let candidates = [-2, -1, 0, 1, 2].map { guess.addingTimeInterval(Double($0) * 3600) }.filter { candidate in
            let seen = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: candidate)
            return seen.year == year && seen.month == month && seen.day == day && seen.hour == hour && seen.minute == minute
                && seen.second == second
        }
        guard let first = candidates.min() else {
            let seen = calendar.dateComponents([.year, .month, .day], from: guess)
            return seen.year == year && seen.month == month && seen.day == day ? .failure(.skipped) : .failure(.malformed)
        }
        return .success(first)
    }
}
