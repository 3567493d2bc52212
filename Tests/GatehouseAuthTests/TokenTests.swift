import Foundation
import GatehouseAuth
import GatehouseWire
import Testing

struct TokenTests {
    let signer = try! TokenSigner(seed: Array(repeating: 7, count: 32))
    let tenant = TenantID(UUID())

    var verifier: TokenVerifier { TokenVerifier(keySet: JWKS(keys: [self.signer.publicJWK])) }

    func token(role: Role = .tenantAdmin, issuedAt: Date = Date(), lifetime: Duration = .seconds(900)) throws -> String {
        try self.signer.sign(AccessClaims(subject: "person-1", tenant: self.tenant, role: role, issuedAt: issuedAt, lifetime: lifetime))
    }

    @Test func aSignedTokenVerifiesWithItsClaims() throws {
        let principal = try self.verifier.verify(try self.token(role: .propertyManager))
        #expect(principal.role == .propertyManager && principal.claims.tid == self.tenant && principal.claims.sub == "person-1")
        #expect(principal.canSee(tenant: self.tenant) && !principal.canSee(tenant: TenantID(UUID())))
    }

    @Test func expiredAndFutureTokensAreRefused() throws {
        let old = try self.token(issuedAt: Date().addingTimeInterval(-3600), lifetime: .seconds(900))
        #expect(throws: TokenError.expired) { try self.verifier.verify(old) }
        let future = try self.token(issuedAt: Date().addingTimeInterval(3600))
        #expect(throws: TokenError.notYetValid) { try self.verifier.verify(future) }
        // Within the clock-skew allowance.
        let skewed = try self.token(issuedAt: Date().addingTimeInterval(10))
        #expect(throws: Never.self) { try self.verifier.verify(skewed) }
    }

    @Test func tamperedOrForeignTokensAreRefused() throws {
        let token = try self.token(role: .staff)
        let parts = token.split(separator: ".").map(String.init)
        // Claims rewritten to another role, signature kept.
        var claims = try JSONSerialization.jsonObject(with: Data(Base64URL.decode(parts[1])!)) as! [String: Any]
        claims["role"] = "operator-admin"
        let forged = parts[0] + "." + Base64URL.encode(Array(try JSONSerialization.data(withJSONObject: claims))) + "." + parts[2]
        #expect(throws: TokenError.badSignature) { try self.verifier.verify(forged) }
        // alg "none" and HMAC are never accepted.
        for alg in ["none", "HS256"] {
            let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","kid":"\#(self.signer.keyID)"}"#.utf8))
            #expect(throws: TokenError.unsupportedAlgorithm) { try self.verifier.verify(header + "." + parts[1] + "." + parts[2]) }
        }
        // Signed by a key the verifier does not know.
        let stranger = try TokenSigner(seed: Array(repeating: 9, count: 32))
        let foreign = try stranger.sign(AccessClaims(subject: "x", tenant: self.tenant, role: .operatorAdmin))
        #expect(throws: TokenError.unknownKey) { try self.verifier.verify(foreign) }
        for garbage in ["", "a.b", "a.b.c.d", String(repeating: "x", count: 5000), "..", "e30.e30.e30"] {
            #expect(throws: TokenError.self) { try self.verifier.verify(garbage) }
        }
    }

    @Test func rotationTrustsBothKeysInTheSet() throws {
        let next = try TokenSigner(seed: Array(repeating: 8, count: 32))
        let both = TokenVerifier(keySet: JWKS(keys: [next.publicJWK, self.signer.publicJWK]))
        #expect(throws: Never.self) { try both.verify(try self.token()) }
        #expect(throws: Never.self) { try both.verify(try next.sign(AccessClaims(subject: "y", tenant: self.tenant, role: .staff))) }
    }

    @Test func theKeySetIsAStandardOKPJWKS() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(JWKS(keys: [self.signer.publicJWK]))) as! [String: Any]
        let key = try #require((json["keys"] as? [[String: Any]])?.first)
        #expect(key["kty"] as? String == "OKP" && key["crv"] as? String == "Ed25519" && key["alg"] as? String == "EdDSA")
        #expect(Base64URL.decode(key["x"] as! String)?.count == 32)
        #expect(key["kid"] as? String == self.signer.keyID)
    }

    @Test func rolesMapToScopes() {
        #expect(Role.operatorAdmin.scopes == Set(Scope.allCases))
        for role in [Role.integrator, .guest] { #expect(role.scopes.isEmpty) }
        // Residents may ask to open doors (granted on their own authority) and nothing else here.
        #expect(Role.resident.scopes == [.accessUnlock, .accessPasses])
        #expect(Role.staff.scopes == [.auditRead, .identityRead, .accessUnlock, .accessPasses])
        #expect(!Role.propertyManager.scopes.contains(.accessConfigure) && Role.tenantAdmin.scopes.contains(.accessConfigure))
        #expect(Role.propertyManager.scopes.contains(.auditExport) && !Role.propertyManager.scopes.contains(.auditVerify))
        // Every role's scopes are a subset of the tenant admin's, except the operator's.
        for role in Role.allCases where role != .operatorAdmin {
            #expect(role.scopes.isSubset(of: Role.tenantAdmin.scopes))
        }
    }
}
