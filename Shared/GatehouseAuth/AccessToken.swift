public import Foundation
public import GatehouseWire

/// The claims of a Gatehouse access token (a JWT signed with EdDSA/Ed25519, RFC 8037).
public struct AccessClaims: Codable, Sendable, Hashable {
    /// Issuer: always ``AccessClaims/issuer``.
    public var iss: String
    /// The person, API key or operator the token was issued to.
    public var sub: String
    /// Audience: always ``AccessClaims/audience``.
    public var aud: String
    /// The tenant the token acts in (the nil UUID for the operator).
    public var tid: TenantID
    public var role: Role
    /// For a property manager: the sites they manage.
    public var sites: [UUID]?
    /// For staff: the buildings they work in.
    public var buildings: [UUID]?
    /// For an integrator's API key: the event domains it may consume (`access`, `signaling`, …).
    public var domains: [String]?
    /// Issued at, not before, expires: seconds since 1970.
    public var iat: Int64
    public var nbf: Int64?
    public var exp: Int64
    /// Token id, for revocation lists.
    public var jti: String

    public static let issuer = "gatehouse"
    public static let audience = "gatehouse"

    public init(
        subject: String,
        tenant: TenantID,
        role: Role,
        sites: [UUID]? = nil,
        buildings: [UUID]? = nil,
        domains: [String]? = nil,
        issuedAt: Date = Date(),
        lifetime: Duration = .seconds(900),
        id: String = UUID().lowercasedString
    ) {
        self.iss = Self.issuer
        self.sub = subject
        self.aud = Self.audience
        self.tid = tenant
        self.role = role
        self.sites = sites
        self.buildings = buildings
        self.domains = domains
        self.iat = Int64(issuedAt.timeIntervalSince1970)
        self.nbf = self.iat
        self.exp = self.iat + lifetime.components.seconds
        self.jti = id
    }
}

/// A verified token: who, in which tenant, with what reach.
public struct Principal: Sendable, Hashable {
    public var claims: AccessClaims

    public init(claims: AccessClaims) { self.claims = claims }

    public var role: Role { self.claims.role }

    public func has(_ scope: Scope) -> Bool { self.claims.role.scopes.contains(scope) }

    /// Whether the principal may see anything of `tenant` at all. Anything of another tenant is
    /// answered as if it did not exist (404), never 403.
    public func canSee(tenant: TenantID) -> Bool {
        self.claims.role == .operatorAdmin || self.claims.tid == tenant
    }
}
