public import Crypto
public import Foundation
import GatehouseWire

/// Why a token was refused. Callers answer 401 for all of them and log the case, never the token.
public enum TokenError: Error, Sendable, Hashable {
    case malformed
    case unsupportedAlgorithm
    case unknownKey
    case badSignature
    case expired
    case notYetValid
    case wrongIssuerOrAudience
    case tooLarge
}

/// One Ed25519 public key of the issuer, as a JWK (RFC 8037: `kty` OKP, `crv` Ed25519).
public struct PublicJWK: Codable, Sendable, Hashable {
    public var kty: String
    public var crv: String
    /// The public key, base64url without padding.
    public var x: String
    public var kid: String
    public var use: String
    public var alg: String

    public init(publicKey: Curve25519.Signing.PublicKey) {
        self.kty = "OKP"
        self.crv = "Ed25519"
        self.x = Base64URL.encode(Array(publicKey.rawRepresentation))
        self.kid = Self.keyID(of: publicKey)
        self.use = "sig"
        self.alg = "EdDSA"
    }

    /// From a raw 32-byte Ed25519 public key.
    public init(rawPublicKey: [UInt8]) throws {
        self.init(publicKey: try Curve25519.Signing.PublicKey(rawRepresentation: rawPublicKey))
    }

    /// The first 16 hex digits of SHA-256 of the raw public key.
    public static func keyID(of key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: key.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    public func publicKey() throws -> Curve25519.Signing.PublicKey {
        guard self.kty == "OKP", self.crv == "Ed25519", let raw = Base64URL.decode(self.x) else { throw TokenError.unknownKey }
        return try Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }
}

/// A JSON Web Key Set: the keys tokens may be signed with (during a rotation, two).
public struct JWKS: Codable, Sendable, Hashable {
    public var keys: [PublicJWK]

    public init(keys: [PublicJWK]) { self.keys = keys }
}

/// Signs access tokens. Held by the issuer (identity) and by the operator's bootstrap CLI.
public struct TokenSigner: Sendable {
    let key: Curve25519.Signing.PrivateKey
    public let keyID: String

    /// `seed`: the 32-byte Ed25519 private key.
    public init(seed: [UInt8]) throws {
        self.key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        self.keyID = PublicJWK.keyID(of: self.key.publicKey)
    }

    public var publicJWK: PublicJWK { PublicJWK(publicKey: self.key.publicKey) }

    public func sign(_ claims: AccessClaims) throws -> String {
        let header = #"{"alg":"EdDSA","kid":"\#(self.keyID)","typ":"JWT"}"#
        let payload = try WireCoding.encode(claims)
        let signingInput = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload))
        let signature = try self.key.signature(for: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(Array(signature))
    }
}

/// Verifies access tokens locally against the issuer's key set: EdDSA only, the key named by `kid`,
/// issuer and audience, expiry and not-before with a small clock-skew allowance.
public struct TokenVerifier: Sendable {
    /// Longest token accepted.
    public static let maxTokenBytes = 4096
    /// Allowed clock skew.
    public static let leeway: Int64 = 30

    let keys: [String: Curve25519.Signing.PublicKey]

    public init(keySet: JWKS) {
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for jwk in keySet.keys where jwk.alg == "EdDSA" {
            if let key = try? jwk.publicKey() { keys[jwk.kid] = key }
        }
        self.keys = keys
    }

    public var isEmpty: Bool { self.keys.isEmpty }

    struct Header: Decodable {
        var alg: String
        var kid: String?
        var typ: String?
    }

    public func verify(_ token: String, now: Date = Date()) throws -> Principal {
        guard token.utf8.count <= Self.maxTokenBytes else { throw TokenError.tooLarge }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])), let payloadBytes = Base64URL.decode(String(parts[1])),
            let signature = Base64URL.decode(String(parts[2]))
        else { throw TokenError.malformed }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else { throw TokenError.malformed }
        guard header.alg == "EdDSA" else { throw TokenError.unsupportedAlgorithm }
        guard let kid = header.kid, let key = self.keys[kid] else { throw TokenError.unknownKey }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: signingInput) else { throw TokenError.badSignature }
        guard let claims = try? WireCoding.decode(AccessClaims.self, from: Data(payloadBytes)) else { throw TokenError.malformed }
        guard claims.iss == AccessClaims.issuer, claims.aud == AccessClaims.audience else { throw TokenError.wrongIssuerOrAudience }
        let seconds = Int64(now.timeIntervalSince1970)
        guard seconds < claims.exp + Self.leeway else { throw TokenError.expired }
        guard seconds + Self.leeway >= (claims.nbf ?? claims.iat) else { throw TokenError.notYetValid }
        return Principal(claims: claims)
    }
}

/// base64url without padding (RFC 4648 §5), as JWTs use it.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), text.allSatisfy(\.isASCII) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
