package import Crypto
package import Foundation
import GatehouseAuth
package import GatehouseWire

/// The kinds of credential a person holds (visitor passes are separate: ``Pass``).
package enum CredentialKind: String, Sendable, Hashable, CaseIterable {
    case card
    case plate
    case mobileKey
    case face
    case pin

    /// The channel a presentation of this kind arrives on.
    package var channel: UnlockChannel {
        switch self {
        case .card: .card
        case .plate: .plate
        case .mobileKey: .mobileKey
        case .face: .face
        case .pin: .pin
        }
    }
}

/// Credential values in one canonical text each, so the same card read by two readers (or typed by
/// an administrator) yields the same keyed digest.
package enum CredentialValue {
    /// `wiegand26` / `wiegand34` as `"facility:number"` or as the raw bits with parity; `uid` as
    /// hex (4, 7 or 10 bytes, colons allowed). The canonical text, or why not.
    package static func card(_ read: CardRead) -> Result<String, CredentialValueError> {
        let value = read.value.trimmingCharacters(in: .whitespaces)
        switch read.format {
        case "wiegand26", "wiegand34":
            let bits = read.format == "wiegand26" ? 26 : 34
            let facilityMax = bits == 26 ? 255 : 65_535
            let prefix = bits == 26 ? "w26" : "w34"
            if value.count == bits, value.allSatisfy({ $0 == "0" || $0 == "1" }) {
                guard let (facility, number) = Self.wiegand(Array(value).map { $0 == "1" }) else {
                    return .failure(CredentialValueError("the \(bits) bits fail their parity check"))
                }
                return .success("\(prefix):\(facility):\(number)")
            }
            let parts = value.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ (1...5).contains($0.count) && $0.allSatisfy(\.isASCII) }),
                let facility = Int(parts[0]), let number = Int(parts[1]), (0...facilityMax).contains(facility), (0...65_535).contains(number)
            else {
                return .failure(
                    CredentialValueError(
                        "a \(read.format) card is \"facility:number\" (facility 0–\(facilityMax), number 0–65535) or its \(bits) bits"
                    )
                )
            }
            return .success("\(prefix):\(facility):\(number)")
        case "uid":
            let hex = value.replacingOccurrences(of: ":", with: "").lowercased()
            guard [8, 14, 20].contains(hex.count), hex.allSatisfy(\.isHexDigit), hex.allSatisfy(\.isASCII) else {
                return .failure(CredentialValueError("a uid is the card's 4, 7 or 10 bytes in hex"))
            }
            return .success("uid:\(hex)")
        default:
            return .failure(CredentialValueError("format is wiegand26, wiegand34 or uid"))
        }
    }

    /// Facility code and card number of a Wiegand frame (26 or 34 bits): the first bit is even
    /// parity over the first half, the last bit odd parity over the second half.
    static func wiegand(_ bits: [Bool]) -> (facility: Int, number: Int)? {
        let half = bits.count / 2
        let firstOnes = bits[0..<half].filter { $0 }.count
        let secondOnes = bits[half...].filter { $0 }.count
        guard firstOnes % 2 == 0, secondOnes % 2 == 1 else { return nil }
        func number(_ range: Range<Int>) -> Int { bits[range].reduce(0) { $0 << 1 | ($1 ? 1 : 0) } }
        let facilityBits = bits.count == 26 ? 8 : 16
        return (number(1..<(1 + facilityBits)), number((1 + facilityBits)..<(bits.count - 1)))
    }

    /// The Wiegand bits of a facility code and card number (for tests and the door simulator).
    package static func wiegandBits(facility: Int, number: Int, length: Int) -> String {
        let facilityBits = length == 26 ? 8 : 16
        let payload =
            (0..<facilityBits).reversed().map { facility >> $0 & 1 == 1 } + (0..<16).reversed().map { number >> $0 & 1 == 1 }
        let half = length / 2
        let firstOnes = payload[0..<(half - 1)].filter { $0 }.count
        let secondOnes = payload[(half - 1)...].filter { $0 }.count
        let bits = [firstOnes % 2 == 1] + payload + [secondOnes % 2 == 0]
        return String(bits.map { $0 ? "1" : "0" })
    }

    /// Upper case, without spaces and hyphens: 2 to 12 letters and digits.
    package static func plate(_ text: String) -> Result<String, CredentialValueError> {
        let plate = text.uppercased().filter { $0 != " " && $0 != "-" }
        guard (2...12).contains(plate.count), plate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return .failure(CredentialValueError("a plate is 2 to 12 letters and digits (spaces and hyphens are ignored)"))
        }
        return .success(plate)
    }

    /// Inference's template id: 1 to 64 printable ASCII characters.
    package static func faceTemplate(_ text: String) -> Result<String, CredentialValueError> {
        guard (1...64).contains(text.utf8.count), text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return .failure(CredentialValueError("a template id is 1 to 64 printable ASCII characters"))
        }
        return .success(text)
    }

    /// A phone's P-256 public key, base64 of its X9.63 (65 bytes) or DER (SubjectPublicKeyInfo) form.
    package static func publicKey(_ text: String) -> Result<P256.Signing.PublicKey, CredentialValueError> {
        guard text.utf8.count <= 200, let bytes = Data(base64Encoded: text),
            let key = (try? P256.Signing.PublicKey(x963Representation: bytes)) ?? (try? P256.Signing.PublicKey(derRepresentation: bytes))
        else {
            return .failure(CredentialValueError("publicKey is an ECDSA P-256 public key, base64 of its X9.63 or DER form"))
        }
        return .success(key)
    }

    /// The keyed digest stored for a value: `HMAC-SHA256(tenant key, kind ‖ 0 ‖ canonical value)`.
    /// PINs use the visitor passes' digest (site ‖ PIN) so one lookup finds both.
    package static func digest(_ kind: CredentialKind, _ canonical: String, key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(kind.rawValue.utf8) + [0] + Array(canonical.utf8), using: SymmetricKey(data: key)))
    }
}

package struct CredentialValueError: Error, Sendable {
    package var message: String
    init(_ message: String) { self.message = message }
}

/// Checks a phone's signed unlock request (``MobileKeyProof``).
package enum MobileKeyCheck {
    /// How far the phone's clock may be from ours.
    package static let maxSkew: Duration = .seconds(30)

    package enum Outcome: Sendable, Equatable {
        case valid(nonce: [UInt8])
        case badSignature
        case stale
        case malformed
    }

    package static func check(_ proof: MobileKeyProof, key: P256.Signing.PublicKey, tenant: TenantID, door: UUID, now: Date) -> Outcome {
        guard proof.nonce.utf8.count <= 64, let nonce = Base64URL.decode(proof.nonce), nonce.count == 16,
            let signatureBytes = Data(base64Encoded: proof.signature),
            signatureBytes.count <= 80
        else { return .malformed }
        let skew = abs(Double(proof.timestamp) / 1000 - now.timeIntervalSince1970)
        guard skew <= Double(Self.maxSkew.components.seconds) else { return .stale }
        let message = MobileKeyProof.message(tenant: tenant, door: door, timestamp: proof.timestamp, nonce: proof.nonce)
        let signature =
            (try? P256.Signing.ECDSASignature(derRepresentation: signatureBytes))
            ?? (try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes))
        guard let signature, key.isValidSignature(signature, for: message) else { return .badSignature }
        return .valid(nonce: nonce)
    }
}

/// A phone's side of a mobile key: its P-256 key pair and the requests it signs (for the CLI, the
/// door simulator and tests; real phones keep the private key in their secure hardware).
package struct MobileKeySigner: Sendable {
    package let key: P256.Signing.PrivateKey

    package init(key: P256.Signing.PrivateKey = P256.Signing.PrivateKey()) { self.key = key }

    /// The public key as registered: base64 of its X9.63 form.
    package var publicKeyBase64: String { self.key.publicKey.x963Representation.base64EncodedString() }

    /// A signed request to open `door` at `instant`, with a fresh nonce.
    package func proof(credential: UUID, tenant: TenantID, door: UUID, at instant: Date = Date()) -> MobileKeyProof {
        let nonce = Base64URL.encode((0..<16).map { _ in UInt8.random(in: 0...255) })
        let timestamp = Int64((instant.timeIntervalSince1970 * 1000).rounded())
        let message = MobileKeyProof.message(tenant: tenant, door: door, timestamp: timestamp, nonce: nonce)
        let signature = (try? self.key.signature(for: message).derRepresentation.base64EncodedString()) ?? ""
        return MobileKeyProof(credentialId: credential, timestamp: timestamp, nonce: nonce, signature: signature)
    }
}
