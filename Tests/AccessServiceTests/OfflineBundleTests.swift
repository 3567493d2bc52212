import AccessService
import Foundation
import GatehouseWire
import Testing

/// A door's offline memory: signed bundles, deltas, and decisions from them with the same policy
/// function access uses online.
struct OfflineBundleTests {
    static let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!
    static let site = UUID()
    static let door = UUID()
    static let keys = PassKeys(secretKey: Array(repeating: 9, count: 32))
    static let credentialKey = Array(repeating: UInt8(5), count: 32)

    static func pass(_ id: UUID, pin: String, revoked: Bool = false, maxUses: Int? = nil, uses: Int = 0) -> OfflineBundle.PassEntry {
        OfflineBundle.PassEntry(
            id: id,
            pinDigest: Data(PassKeys.pinDigest(pin, site: site, key: credentialKey)).base64EncodedString(),
            nonce: Data(repeating: 1, count: 8).base64EncodedString(),
            validFrom: Date().addingTimeInterval(-60),
            validUntil: Date().addingTimeInterval(3600),
            schedule: nil,
            maxUses: maxUses,
            uses: uses,
            revoked: revoked
        )
    }

    static func bundle(since: Int64? = nil, passes: [OfflineBundle.PassEntry], lockdown: Bool = false) -> OfflineBundle {
        OfflineBundle(
            tenantId: tenant,
            doorId: door,
            siteId: site,
            timeZone: "Europe/Berlin",
            cursor: Int64(Date().timeIntervalSince1970 * 1000),
            since: since,
            generatedAt: Date(),
            validUntil: Date().addingTimeInterval(OfflineBundle.horizon),
            credentialKey: Data(credentialKey).base64EncodedString(),
            signingKey: keys.verifyingBase64,
            lockdown: lockdown,
            hours: nil,
            freeAccess: nil,
            holidays: [],
            exceptions: [],
            groups: [],
            passes: passes,
            credentials: [
                OfflineBundle.CredentialEntry(
                    id: UUID(),
                    personId: UUID(),
                    kind: "card",
                    digest: Data(CredentialValue.digest(.card, "w26:1:2", key: credentialKey)).base64EncodedString(),
                    authority: .resident,
                    groupIds: [],
                    validFrom: Date().addingTimeInterval(-60),
                    validUntil: nil,
                    revoked: false
                )
            ],
            truncated: false
        )
    }

    @Test func onlyBundlesSignedByAccessAreAccepted() throws {
        let signed = try SignedBundle.sign(Self.bundle(passes: []), with: Self.keys.signing)
        #expect(signed.verified(with: Self.keys.verifying)?.doorId == Self.door)
        var tampered = signed
        tampered.payload = signed.payload.replacingOccurrences(of: "\"lockdown\":false", with: "\"lockdown\":true")
        #expect(tampered.payload != signed.payload)
        #expect(tampered.verified(with: Self.keys.verifying) == nil)
        #expect(signed.verified(with: PassKeys(secretKey: Array(repeating: 8, count: 32)).verifying) == nil)
    }

    @Test func deltasRevokeAndUsesAreCountedOfflineToo() {
        let (kept, revoked, once) = (UUID(), UUID(), UUID())
        var state = OfflineState()
        state.apply(
            Self.bundle(passes: [Self.pass(kept, pin: "111111"), Self.pass(revoked, pin: "222222"), Self.pass(once, pin: "333333", maxUses: 1)])
        )
        #expect(state.decide(pin: "222222", at: Date()) == .pass)
        // A delta revokes one pass; the others stay.
        state.apply(Self.bundle(since: 1, passes: [Self.pass(revoked, pin: "222222", revoked: true)]))
        #expect(state.decide(pin: "222222", at: Date()) == .revoked)
        #expect(state.decide(pin: "111111", at: Date()) == .pass)
        // A one-time pass opens once offline.
        #expect(state.decide(pin: "333333", at: Date()) == .pass)
        #expect(state.decide(pin: "333333", at: Date()) == .usesExhausted)
        #expect(state.decide(pin: "999999", at: Date()) == .invalidCredential)
        #expect(state.decide(card: CardRead(format: "wiegand26", value: "1:2"), at: Date()) == .resident)
        // Past the bundle's horizon nothing opens; a lockdown in the bundle stops residents.
        #expect(state.decide(pin: "111111", at: Date().addingTimeInterval(OfflineBundle.horizon + 60)) == .invalidCredential)
        state.apply(Self.bundle(since: 2, passes: [], lockdown: true))
        #expect(state.decide(card: CardRead(format: "wiegand26", value: "1:2"), at: Date()) == .lockdown)
        // A whole bundle replaces what the door held.
        state.apply(Self.bundle(passes: []))
        #expect(state.decide(pin: "111111", at: Date()) == .invalidCredential)
    }
}
