package import Crypto
package import Foundation
import GatehouseAuth
package import GatehouseWire

/// A visitor pass as a QR code: a compact Ed25519-signed token carrying the pass id, its tenant,
/// its doors, its validity window and a nonce. A door (or access control) verifies it with the
/// public key alone, then checks revocation and use counts.
///
/// Layout (docs/security.md): `GH1:` + base64url(payload ‖ signature), payload = version (1) ‖
/// tenant (16) ‖ pass (16) ‖ validFrom (int64 BE, s) ‖ validUntil (int64 BE, s) ‖ nonce (8) ‖ door
/// count (1) ‖ doors (16 each, at most 16).
package struct PassToken: Sendable, Hashable {
    package var tenant: TenantID
    package var pass: UUID
    package var validFrom: Date
    package var validUntil: Date
    package var nonce: [UInt8]
    package var doors: [UUID]

    package static let prefix = "GH1:"
    package static let maxDoors = 16
    /// Bytes before the doors, and of the signature.
    static let headerBytes = 58
    static let signatureBytes = 64
    /// The longest token string (16 doors): what a scanner must accept.
    package static let maxLength: Int = 4 + (headerBytes + 16 * maxDoors + signatureBytes + 2) / 3 * 4

    package init(tenant: TenantID, pass: UUID, validFrom: Date, validUntil: Date, nonce: [UInt8], doors: [UUID]) {
        self.tenant = tenant
        self.pass = pass
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.nonce = nonce
        self.doors = doors
    }

    var payload: [UInt8] {
        var bytes: [UInt8] = [1]
        bytes += self.tenant.rawValue.bytes
        bytes += self.pass.bytes
        for value in [Int64(self.validFrom.timeIntervalSince1970.rounded(.down)), Int64(self.validUntil.timeIntervalSince1970.rounded(.down))] {
            withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
        }
        bytes += self.nonce.prefix(8) + [UInt8](repeating: 0, count: max(0, 8 - self.nonce.count))
        bytes.append(UInt8(self.doors.count))
        for door in self.doors { bytes += door.bytes }
        return bytes
    }

    package func signed(with key: Curve25519.Signing.PrivateKey) throws -> String {
        let payload = self.payload
        let signature = try key.signature(for: payload)
        return Self.prefix + Base64URL.encode(payload + Array(signature))
    }

    /// The token `text` carries, if its signature verifies under `key`; `nil` for anything else.
    package init?(verifying text: String, with key: Curve25519.Signing.PublicKey) {
        guard text.utf8.count <= Self.maxLength, text.hasPrefix(Self.prefix), let raw = Base64URL.decode(String(text.dropFirst(Self.prefix.count))),
            raw.count >= Self.headerBytes + Self.signatureBytes, raw[0] == 1
        else { return nil }
        let doors = Int(raw[Self.headerBytes - 1])
        let payloadBytes: Int = Self.headerBytes + 16 * doors
        guard doors <= Self.maxDoors, raw.count == payloadBytes + Self.signatureBytes else { return nil }
        let payload = Array(raw[..<payloadBytes])
        guard key.isValidSignature(raw[payloadBytes...], for: payload) else { return nil }
        func uuid(_ offset: Int) -> UUID { UUID(bytes: Array(payload[offset..<(offset + 16)])) }
        func int64(_ offset: Int) -> Int64 { payload[offset..<(offset + 8)].reduce(0) { $0 << 8 | Int64($1) } }
        self.tenant = TenantID(uuid(1))
        self.pass = uuid(17)
        self.validFrom = Date(timeIntervalSince1970: TimeInterval(int64(33)))
        self.validUntil = Date(timeIntervalSince1970: TimeInterval(int64(41)))
        self.nonce = Array(payload[49..<57])
        self.doors = (0..<doors).map { uuid(Self.headerBytes + 16 * $0) }
    }
}

/// The keys of passes: the QR signing key and the PIN digest, both derived from or sealed under
/// `access.secretKey`.
package struct PassKeys: Sendable {
    package let signing: Curve25519.Signing.PrivateKey

    package init(secretKey: [UInt8]) {
        let seed = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secretKey),
            info: Array("gatehouse access pass tokens v1".utf8),
            outputByteCount: 32
        )
        self.signing = seed.withUnsafeBytes { try! Curve25519.Signing.PrivateKey(rawRepresentation: $0) }
    }

    package var verifying: Curve25519.Signing.PublicKey { self.signing.publicKey }
    /// The public key as doors pin it: base64 of its raw 32 bytes.
    package var verifyingBase64: String { Data(self.verifying.rawRepresentation).base64EncodedString() }

    /// `HMAC-SHA256(tenant's PIN key, site ‖ PIN)`: a door's PIN can be found without storing it.
    package static func pinDigest(_ pin: String, site: UUID, key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: site.bytes + Array(pin.utf8), using: SymmetricKey(data: key)))
    }
}

extension UUID {
    var bytes: [UInt8] { withUnsafeBytes(of: self.uuid) { Array($0) } }

    init(bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }
}
