import AccessService
import Foundation
import GatehouseWire
import Testing

/// Visitor passes' QR tokens: verified with the public key alone, and nothing else verifies.
struct PassTokenTests {
    let keys = PassKeys(secretKey: Array(repeating: 9, count: 32))
    let token = PassToken(
        tenant: TenantID(UUID()),
        pass: UUID(),
        validFrom: Date(timeIntervalSince1970: 1_795_000_000),
        validUntil: Date(timeIntervalSince1970: 1_795_086_400),
        nonce: [1, 2, 3, 4, 5, 6, 7, 8],
        doors: [UUID(), UUID()]
    )

    @Test func aSignedTokenVerifiesAndCarriesItsFields() throws {
        let text = try self.token.signed(with: self.keys.signing)
        #expect(text.hasPrefix("GH1:") && text.count <= PassToken.maxLength)
        #expect(PassToken(verifying: text, with: self.keys.verifying) == self.token)
        // The same pass always yields the same token (Ed25519 is deterministic).
        #expect(try self.token.signed(with: self.keys.signing) == text)
    }

    @Test func anythingAlteredOrSignedByAnotherKeyIsRefused() throws {
        let text = try self.token.signed(with: self.keys.signing)
        let other = PassKeys(secretKey: Array(repeating: 10, count: 32))
        #expect(PassToken(verifying: text, with: other.verifying) == nil)
        var bytes = Array(text.utf8)
        for index in stride(from: 4, to: bytes.count, by: 7) {
            let original = bytes[index]
            bytes[index] = original == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(PassToken(verifying: String(decoding: bytes, as: UTF8.self), with: self.keys.verifying) == nil, "byte \(index)")
            bytes[index] = original
        }
        for bad in ["", "GH1:", "GH2:" + text.dropFirst(4), String(text.dropLast(3)), text + "AA", String(repeating: "A", count: 5_000)] {
            #expect(PassToken(verifying: bad, with: self.keys.verifying) == nil)
        }
    }

    @Test func pinDigestsDependOnSiteKeyAndPIN() {
        let site = UUID()
        let key = Array(repeating: UInt8(1), count: 32)
        let digest = PassKeys.pinDigest("123456", site: site, key: key)
        #expect(digest.count == 32 && digest == PassKeys.pinDigest("123456", site: site, key: key))
        #expect(digest != PassKeys.pinDigest("123457", site: site, key: key))
        #expect(digest != PassKeys.pinDigest("123456", site: UUID(), key: key))
        #expect(digest != PassKeys.pinDigest("123456", site: site, key: Array(repeating: 2, count: 32)))
    }
}
