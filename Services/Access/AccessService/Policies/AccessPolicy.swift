package import Foundation
package import GatehouseWire

/// When a door serves whom: its hours (a gym 06:00–22:00, a garage around the clock) and its
/// free-access windows (a lobby open to anyone on weekday mornings). Both in the site's zone.
package struct DoorPolicy: Sendable, Hashable {
    /// When residents, access groups and visitor passes may use the door; `nil`: always.
    package var hours: WeeklySchedule?
    /// When any recognised credential opens the door; `nil`: never.
    package var freeAccess: WeeklySchedule?

    package init(hours: WeeklySchedule? = nil, freeAccess: WeeklySchedule? = nil) {
        self.hours = hours
        self.freeAccess = freeAccess
    }
}

/// A one-off change for a period: a door (or every door of the site) locked for maintenance, or
/// opened for an event.
package struct DoorException: Sendable, Hashable {
    package enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Only staff and administrators open it (`apLocked` for everyone else).
        case locked
        /// Anyone recognised opens it (`freeAccess`).
        case open
    }

    package var id: UUID
    package var siteId: UUID
    /// `nil`: every door of the site.
    package var doorId: UUID?
    package var startsAt: Date
    package var endsAt: Date
    package var mode: Mode
    package var note: String?

    package init(id: UUID, siteId: UUID, doorId: UUID?, startsAt: Date, endsAt: Date, mode: Mode, note: String?) {
        self.id = id
        self.siteId = siteId
        self.doorId = doorId
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.mode = mode
        self.note = note
    }

    package func applies(to door: UUID, at instant: Date) -> Bool {
        (self.doorId == nil || self.doorId == door) && instant >= self.startsAt && instant < self.endsAt
    }

    /// Limits: at most 366 days long, notes up to 200 characters.
    package static let maxLength: TimeInterval = 366 * 86_400
}

/// People who may use some doors of a site on a schedule (cleaners, the gym's members, a
/// contractor's crew), on top of what being a resident or staff gives.
package struct AccessGroup: Sendable, Hashable {
    package var id: UUID
    package var siteId: UUID
    package var name: String
    package var doorIds: [UUID]
    /// `nil`: at any time (the doors' hours still apply).
    package var schedule: WeeklySchedule?

    package init(id: UUID, siteId: UUID, name: String, doorIds: [UUID], schedule: WeeklySchedule?) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.doorIds = doorIds
        self.schedule = schedule
    }

    /// Limits: up to 64 doors per group, names up to 100 characters, 200 groups per site.
    package static let maxDoors = 64
    package static let maxPerSite = 200
}

/// Everything about a site that decides, besides the credential: lockdown, holidays, door
/// policies, exceptions and groups.
package struct SitePolicy: Sendable, Hashable {
    package var lockdown: Bool
    package var holidays: HolidayCalendar
    package var doors: [UUID: DoorPolicy]
    /// Exceptions that have not ended.
    package var exceptions: [DoorException]
    package var groups: [UUID: AccessGroup]
    /// When calls ring whom (signaling asks; decision 0021); nil: always business hours.
    package var callHours: CallHoursPolicy?

    package init(
        lockdown: Bool = false,
        holidays: HolidayCalendar = HolidayCalendar(),
        doors: [UUID: DoorPolicy] = [:],
        exceptions: [DoorException] = [],
        groups: [UUID: AccessGroup] = [:],
        callHours: CallHoursPolicy? = nil
    ) {
        self.lockdown = lockdown
        self.holidays = holidays
        self.doors = doors
        self.exceptions = exceptions
        self.groups = groups
        self.callHours = callHours
    }

    /// Whether some group gives access to `door`: only then are a person's memberships worth
    /// looking up.
    package func hasGroups(for door: UUID) -> Bool { self.groups.values.contains { $0.doorIds.contains(door) } }
}

/// The one decision function (docs/security.md, "Decisions"): what the credential or person alone
/// says (`authority`: ``DoorAuthority``, a valid pass, or a credential's own denial), refined by the
/// site's policy at `instant`. Pure, so the call path, the API, the desk and the tests agree.
package enum AccessPolicy {
    package static func decide(
        authority: AccessReason,
        memberships: Set<UUID> = [],
        door: DoorInfo,
        site: SitePolicy,
        at instant: Date
    ) -> AccessReason {
        switch authority {
        case .invalidCredential, .revoked, .usesExhausted, .noConsent, .rateLimited, .erased, .invalidTime, .apLocked, .lockdown:
            // The credential itself fails: nothing about the site changes that.
            return authority
        case .administrator:
            return .administrator
        default:
            break
        }
        let isStaff = authority == .staff
        if site.lockdown { return isStaff ? .staff : .lockdown }
        let zone = TimeZone(identifier: door.timeZone) ?? .gmt
        // The exception that started last wins when two overlap.
        let exception = site.exceptions.filter { $0.applies(to: door.id, at: instant) }.max { $0.startsAt < $1.startsAt }
        switch exception?.mode {
        case .locked: return isStaff ? .staff : .apLocked
        case .open: return isStaff ? .staff : .freeAccess
        case nil: break
        }
        if isStaff { return .staff }
        let policy = site.doors[door.id] ?? DoorPolicy()
        if let free = policy.freeAccess, free.contains(instant, timeZone: zone, holidays: site.holidays) { return .freeAccess }
        var reason = authority
        if authority == .noAuthority {
            let groups = memberships.compactMap { site.groups[$0] }.filter { $0.doorIds.contains(door.id) }
            guard !groups.isEmpty else { return .noAuthority }
            let inSchedule = groups.contains { $0.schedule?.contains(instant, timeZone: zone, holidays: site.holidays) ?? true }
            guard inSchedule else { return .invalidTime }
            reason = .group
        }
        if let hours = policy.hours, !hours.contains(instant, timeZone: zone, holidays: site.holidays) { return .invalidTime }
        return reason
    }
}
