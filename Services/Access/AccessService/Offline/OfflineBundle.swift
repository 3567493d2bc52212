package import Crypto
package import Foundation
package import GatehouseWire

/// What a door needs to keep deciding when access is out of reach (docs/security.md, "Offline
/// doors"): every visitor pass and person credential valid at it within the horizon, as keyed
/// digests, the keys to check PINs and QR codes, and the door's policy. Deltas carry only what
/// changed since the door's cursor; the policy parts are always whole.
package struct OfflineBundle: Codable, Sendable, Hashable {
    package static let format = "gatehouse-bundle/1"
    /// How far ahead a bundle reaches; a door fetches a whole bundle again before it ends.
    package static let horizon: TimeInterval = 24 * 3600
    /// Rows changed this long before a door's cursor are sent again (a transaction that committed
    /// late is not missed; doors apply entries idempotently).
    package static let overlapMilliseconds: Int64 = 10_000
    /// Limits: entries per bundle (beyond them the bundle is cut and `truncated` set).
    package static let maxPasses = 5_000
    package static let maxPeople = 20_000

    package struct Exception: Codable, Sendable, Hashable {
        package var id: UUID
        package var startsAt: Date
        package var endsAt: Date
        package var mode: String

        package init(
            id: UUID,
            startsAt: Date,
            endsAt: Date,
            mode: String
        ) {
            self.id = id
            self.startsAt = startsAt
            self.endsAt = endsAt
            self.mode = mode
        }
    }

    package struct Group: Codable, Sendable, Hashable {
        package var id: UUID
        package var schedule: WeeklySchedule?

        package init(
            id: UUID,
            schedule: WeeklySchedule?
        ) {
            self.id = id
            self.schedule = schedule
        }
    }

    package struct PassEntry: Codable, Sendable, Hashable {
        package var id: UUID
        /// `HMAC-SHA256(pinKey, site ‖ PIN)`, base64.
        package var pinDigest: String
        /// The QR token's nonce, base64.
        package var nonce: String
        package var validFrom: Date
        package var validUntil: Date
        package var schedule: WeeklySchedule?
        package var maxUses: Int?
        package var uses: Int
        package var revoked: Bool

        package init(
            id: UUID,
            pinDigest: String,
            nonce: String,
            validFrom: Date,
            validUntil: Date,
            schedule: WeeklySchedule?,
            maxUses: Int?,
            uses: Int,
            revoked: Bool
        ) {
            self.id = id
            self.pinDigest = pinDigest
            self.nonce = nonce
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.schedule = schedule
            self.maxUses = maxUses
            self.uses = uses
            self.revoked = revoked
        }
    }

    package struct CredentialEntry: Codable, Sendable, Hashable {
        package var id: UUID
        package var personId: UUID
        /// `pin`, `card` or `plate`.
        package var kind: String
        /// The keyed digest (``CredentialValue/digest(_:_:key:)``; PINs as passes'), base64.
        package var digest: String
        /// The person's own authority at the door (`resident`, `staff`, `administrator`,
        /// `noAuthority`).
        package var authority: AccessReason
        /// Their access groups that include the door.
        package var groupIds: [UUID]
        package var validFrom: Date
        package var validUntil: Date?
        package var revoked: Bool

        package init(
            id: UUID,
            personId: UUID,
            kind: String,
            digest: String,
            authority: AccessReason,
            groupIds: [UUID],
            validFrom: Date,
            validUntil: Date?,
            revoked: Bool
        ) {
            self.id = id
            self.personId = personId
            self.kind = kind
            self.digest = digest
            self.authority = authority
            self.groupIds = groupIds
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.revoked = revoked
        }
    }

    package var format = Self.format
    package var tenantId: TenantID
    package var doorId: UUID
    package var siteId: UUID
    package var timeZone: String
    /// Milliseconds since 1970: ask `since=cursor` next time.
    package var cursor: Int64
    /// The cursor this delta starts from; `nil`: a whole bundle.
    package var since: Int64?
    package var generatedAt: Date
    /// Decide nothing from this bundle after this (fetch a whole one).
    package var validUntil: Date
    /// The tenant's credential key (base64): PINs, cards and plates are compared as its digests.
    package var credentialKey: String
    /// The Ed25519 key of QR tokens and of this bundle's signature (base64, raw).
    package var signingKey: String
    package var lockdown: Bool
    package var hours: WeeklySchedule?
    package var freeAccess: WeeklySchedule?
    /// `YYYY-MM-DD` on the site's wall clock.
    package var holidays: [String]
    package var exceptions: [Exception]
    package var groups: [Group]
    package var passes: [PassEntry]
    package var credentials: [CredentialEntry]
    /// Entries were left out (limits): the door should not refuse an unknown credential offline
    /// with certainty.
    package var truncated: Bool

    package init(
        tenantId: TenantID,
        doorId: UUID,
        siteId: UUID,
        timeZone: String,
        cursor: Int64,
        since: Int64?,
        generatedAt: Date,
        validUntil: Date,
        credentialKey: String,
        signingKey: String,
        lockdown: Bool,
        hours: WeeklySchedule?,
        freeAccess: WeeklySchedule?,
        holidays: [String],
        exceptions: [Exception],
        groups: [Group],
        passes: [PassEntry],
        credentials: [CredentialEntry],
        truncated: Bool
    ) {
        self.tenantId = tenantId
        self.doorId = doorId
        self.siteId = siteId
        self.timeZone = timeZone
        self.cursor = cursor
        self.since = since
        self.generatedAt = generatedAt
        self.validUntil = validUntil
        self.credentialKey = credentialKey
        self.signingKey = signingKey
        self.lockdown = lockdown
        self.hours = hours
        self.freeAccess = freeAccess
        self.holidays = holidays
        self.exceptions = exceptions
        self.groups = groups
        self.passes = passes
        self.credentials = credentials
        self.truncated = truncated
    }
}

/// The bundle as sent: its JSON text and an Ed25519 signature over `GH-BUNDLE1\n` + that text.
package struct SignedBundle: Codable, Sendable, Hashable {
    package var payload: String
    package var signature: String

    static let domain = Array("GH-BUNDLE1\n".utf8)

    package static func sign(_ bundle: OfflineBundle, with key: Curve25519.Signing.PrivateKey) throws -> SignedBundle {
        let payload = String(decoding: try WireCoding.encode(bundle), as: UTF8.self)
        let signature = try key.signature(for: Self.domain + Array(payload.utf8))
        return SignedBundle(payload: payload, signature: Data(signature).base64EncodedString())
    }

    /// The bundle, when the signature is `key`'s; `nil` otherwise.
    package func verified(with key: Curve25519.Signing.PublicKey) -> OfflineBundle? {
        guard let signature = Data(base64Encoded: self.signature),
            key.isValidSignature(signature, for: Self.domain + Array(self.payload.utf8)),
            let bundle = try? WireCoding.decode(OfflineBundle.self, from: Data(self.payload.utf8)), bundle.format == OfflineBundle.format
        else { return nil }
        return bundle
    }
}

/// A decision a door took from its bundle, kept until access has it (`POST …/offline-decisions`).
package struct OfflineDecision: Codable, Sendable, Hashable {
    /// Made by the door; access records each id once (retries are harmless).
    package var id: UUID
    package var at: Date
    package var granted: Bool
    package var reason: AccessReason
    package var channel: UnlockChannel
    package var passId: UUID?
    package var credentialId: UUID?
    package var personId: UUID?

    package init(
        id: UUID = UUID(),
        at: Date,
        granted: Bool,
        reason: AccessReason,
        channel: UnlockChannel,
        passId: UUID? = nil,
        credentialId: UUID? = nil,
        personId: UUID? = nil
    ) {
        self.id = id
        self.at = at
        self.granted = granted
        self.reason = reason
        self.channel = channel
        self.passId = passId
        self.credentialId = credentialId
        self.personId = personId
    }

    /// Limits: a door keeps at most this many unreported decisions (older ones are dropped and
    /// counted), and reports at most ``maxPerReport`` at a time.
    package static let maxPending = 10_000
    package static let maxPerReport = 500
}

/// A door's offline memory: bundles merged as they come, decisions taken from them with the same
/// function access uses online (``AccessPolicy``). Used by the door simulator; a real door's
/// firmware does the same from the documented format.
package struct OfflineState: Sendable {
    package private(set) var latest: OfflineBundle?
    package private(set) var passes: [UUID: OfflineBundle.PassEntry] = [:]
    package private(set) var credentials: [UUID: OfflineBundle.CredentialEntry] = [:]
    /// Uses counted here while offline, on top of the bundle's.
    package private(set) var offlineUses: [UUID: Int] = [:]
    package private(set) var lastWhole: Date?
    /// Decisions taken offline that access does not have yet, oldest first.
    package private(set) var pending: [OfflineDecision] = []
    /// Decisions dropped because ``OfflineDecision/maxPending`` were waiting.
    package private(set) var dropped = 0

    package init() {}

    /// Forgets decisions access has recorded.
    package mutating func reported(_ ids: Set<UUID>) { self.pending.removeAll { ids.contains($0.id) } }

    mutating func remember(_ decision: OfflineDecision) {
        if self.pending.count >= OfflineDecision.maxPending {
            self.pending.removeFirst()
            self.dropped += 1
        }
        self.pending.append(decision)
    }

    /// Merges a verified bundle (a whole one replaces everything).
    package mutating func apply(_ bundle: OfflineBundle) {
        if bundle.since == nil {
            self.passes = [:]
            self.credentials = [:]
            self.lastWhole = bundle.generatedAt
        }
        for entry in bundle.passes { self.passes[entry.id] = entry }
        for entry in bundle.credentials { self.credentials[entry.id] = entry }
        self.latest = bundle
    }

    /// Whether a whole bundle should be fetched rather than a delta (none yet, or half the horizon
    /// has passed since the last).
    package func needsWhole(at instant: Date) -> Bool {
        guard let whole = self.lastWhole else { return true }
        return instant.timeIntervalSince(whole) > OfflineBundle.horizon / 2
    }

    /// Decides a PIN, card or QR code at `instant` from the bundle, counts a pass's use, and keeps
    /// the decision to report to access.
    package mutating func decide(pin: String? = nil, card: CardRead? = nil, qr: String? = nil, at instant: Date) -> AccessReason {
        let channel: UnlockChannel = pin != nil ? .pin : card != nil ? .card : .qr
        let (reason, pass, credential) = self.evaluate(pin: pin, card: card, qr: qr, at: instant)
        self.remember(
            OfflineDecision(
                at: instant,
                granted: reason.grants,
                reason: reason,
                channel: channel,
                passId: pass,
                credentialId: credential?.id,
                personId: credential?.personId
            )
        )
        return reason
    }

    mutating func evaluate(
        pin: String?,
        card: CardRead?,
        qr: String?,
        at instant: Date
    ) -> (AccessReason, pass: UUID?, credential: OfflineBundle.CredentialEntry?) {
        guard let bundle = self.latest, instant < bundle.validUntil, let key = Data(base64Encoded: bundle.credentialKey).map({ Array($0) })
        else { return (.invalidCredential, nil, nil) }
        let door = DoorInfo(
            id: bundle.doorId,
            tenantId: bundle.tenantId,
            siteId: bundle.siteId,
            buildingId: nil,
            name: "",
            kind: "door",
            timeZone: bundle.timeZone,
            stations: []
        )
        var site = SitePolicy(
            lockdown: bundle.lockdown,
            holidays: HolidayCalendar(days: Dictionary(bundle.holidays.compactMap { LocalDate($0).map { ($0, "") } }) { first, _ in first }),
            doors: [bundle.doorId: DoorPolicy(hours: bundle.hours, freeAccess: bundle.freeAccess)],
            exceptions: bundle.exceptions.map {
                DoorException(
                    id: $0.id,
                    siteId: bundle.siteId,
                    doorId: bundle.doorId,
                    startsAt: $0.startsAt,
                    endsAt: $0.endsAt,
                    mode: DoorException.Mode(rawValue: $0.mode) ?? .locked,
                    note: nil
                )
            }
        )
        for group in bundle.groups {
            site.groups[group.id] = AccessGroup(id: group.id, siteId: bundle.siteId, name: "", doorIds: [bundle.doorId], schedule: group.schedule)
        }
        var pass: OfflineBundle.PassEntry?
        var credential: OfflineBundle.CredentialEntry?
        if let pin {
            let digest = Data(PassKeys.pinDigest(pin, site: bundle.siteId, key: key)).base64EncodedString()
            pass = self.passes.values.filter { $0.pinDigest == digest }.max {
                ($0.revoked ? 0 : 1, $0.validFrom) < ($1.revoked ? 0 : 1, $1.validFrom)
            }
            if pass == nil { credential = self.credential(kind: "pin", digest: digest) }
        } else if let card, case .success(let value) = CredentialValue.card(card) {
            credential = self.credential(kind: "card", digest: Data(CredentialValue.digest(.card, value, key: key)).base64EncodedString())
        } else if let qr, let signing = Data(base64Encoded: bundle.signingKey),
            let verifying = try? Curve25519.Signing.PublicKey(rawRepresentation: signing),
            let token = PassToken(verifying: qr, with: verifying), token.tenant == bundle.tenantId, token.doors.contains(bundle.doorId),
            let entry = self.passes[token.pass], Data(base64Encoded: entry.nonce).map({ Array($0) }) == token.nonce
        {
            pass = entry
        }
        if let pass {
            let reason = AccessPolicy.decide(authority: .pass, door: door, site: site, at: instant)
            guard reason == .pass else { return (reason, pass.id, nil) }
            if pass.revoked { return (.revoked, pass.id, nil) }
            guard instant >= pass.validFrom, instant < pass.validUntil else { return (.invalidTime, pass.id, nil) }
            let zone = TimeZone(identifier: bundle.timeZone) ?? .gmt
            if let schedule = pass.schedule, !schedule.contains(instant, timeZone: zone, holidays: site.holidays) {
                return (.invalidTime, pass.id, nil)
            }
            let used = pass.uses + (self.offlineUses[pass.id] ?? 0)
            if let maxUses = pass.maxUses, used >= maxUses { return (.usesExhausted, pass.id, nil) }
            self.offlineUses[pass.id, default: 0] += 1
            return (.pass, pass.id, nil)
        }
        guard let credential else { return (.invalidCredential, nil, nil) }
        if credential.revoked { return (.revoked, nil, credential) }
        if instant < credential.validFrom || credential.validUntil.map({ instant >= $0 }) == true { return (.invalidTime, nil, credential) }
        let reason = AccessPolicy.decide(
            authority: credential.authority,
            memberships: Set(credential.groupIds),
            door: door,
            site: site,
            at: instant
        )
        return (reason, nil, credential)
    }

    func credential(kind: String, digest: String) -> OfflineBundle.CredentialEntry? {
        self.credentials.values.filter { $0.kind == kind && $0.digest == digest }.max { ($0.revoked ? 0 : 1) < ($1.revoked ? 0 : 1) }
    }
}
