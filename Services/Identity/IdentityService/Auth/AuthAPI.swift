import Foundation
package import GatehouseAuth
import GatehouseWire
import HTTPTypes
package import Hummingbird
import Logging
import NIOCore
package import PostgresNIO
package import ServiceKit

/// Logins: `POST /v1/auth/login`, `/v1/auth/refresh`, `/v1/auth/logout`, and
/// `PUT /v1/tenants/{tenant}/people/{person}/password` (docs/security.md).
package struct AuthAPI: Sendable {
    /// Access tokens live this long.
    package static let accessLifetime: Duration = .seconds(900)
    static let maxBodyBytes = 4096

    let store: AuthStore
    let signer: TokenSigner
    let keys: AuthKeys
    let hasher: PasswordHasher

    package init(
        client: PostgresClient,
        schema: String = IdentityService.schema,
        signer: TokenSigner,
        keys: AuthKeys,
        hasher: PasswordHasher = PasswordHasher()
    ) {
        self.store = AuthStore(client: client, schema: schema)
        self.signer = signer
        self.keys = keys
        self.hasher = hasher
    }

    struct Tokens: Encodable {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var refreshToken: String
        var role: String
        var tenantId: String
        var personId: String
    }

    static let invalidCredentials = Problem(
        slug: "invalid-credentials",
        title: "Invalid credentials",
        status: .unauthorized,
        detail: "the tenant, e-mail or password is wrong, or the account is locked for a while after repeated failures"
    )

    package func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/auth/login") { request, context in
            let body = try await Self.fields(request, ["tenant", "email", "password"])
            let (tenant, email, password) = (body["tenant"]!, body["email"]!, body["password"]!)
            // Nothing that cannot be a slug or an address reaches the database.
            let slug = tenant.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "-")
            }
            guard slug, (2...63).contains(tenant.utf8.count), email.utf8.count <= PersonInput.maxEmailLength, !email.containsControlCharacters,
                password.count <= PasswordHasher.maximumLength
            else {
                _ = await self.hasher.verify(password.prefix(PasswordHasher.maximumLength).description, encoded: PasswordHasher.decoy)
                throw Self.invalidCredentials
            }
            let account = try await self.store.account(tenantSlug: tenant, email: email, logger: context.logger)
            guard let account, let hash = account.passwordHash else {
                _ = await self.hasher.verify(password, encoded: PasswordHasher.decoy)  // as slow as a real check
                throw Self.invalidCredentials
            }
            if let locked = account.lockedUntil, locked > Date() {
                context.logger.notice("login refused: account locked", metadata: ["gatehouse.person": "\(account.person)"])
                throw Self.invalidCredentials
            }
            guard await self.hasher.verify(password, encoded: hash) else {
                try await self.store.recordFailure(account, logger: context.logger)
                context.logger.notice("login failed", metadata: ["gatehouse.person": "\(account.person)"])
                throw Self.invalidCredentials
            }
            try await self.store.recordSuccess(account, logger: context.logger)
            return try await self.tokens(for: account, family: UUID(), logger: context.logger)
        }
        router.post("/v1/auth/refresh") { request, context in
            let token = try await Self.fields(request, ["refreshToken"])["refreshToken"]!
            guard let (account, family) = try await self.store.redeem(token, logger: context.logger) else {
                throw Problem(slug: "invalid-token", title: "Invalid token", status: .unauthorized, detail: "the refresh token is not valid")
            }
            return try await self.tokens(for: account, family: family, logger: context.logger)
        }
        router.post("/v1/auth/logout") { request, context in
            let token = try await Self.fields(request, ["refreshToken"])["refreshToken"]!
            if token.utf8.count <= 128 { try await self.store.revokeFamily(of: token, logger: context.logger) }
            return Response(status: .noContent)
        }
        router.put("/v1/tenants/:tenant/people/:person/password") { request, context in
            // The person themselves, or whoever may change people of the tenant.
            let (tenant, person) = try self.keys.authorize(request, context: context, personOr: .identityWrite)
            let password = try await Self.fields(request, ["password"])["password"]!
            if let problem = PasswordHasher.problem(with: password) {
                throw Problem.badRequest("invalid password", errors: [.init(field: "password", message: problem)])
            }
            let hash = try await self.hasher.hash(password)
            guard try await self.store.setPassword(tenant: tenant, person: person, hash: hash, logger: context.logger) else {
                throw Problem.notFound("no such person")
            }
            return Response(status: .noContent)
        }
    }

    func tokens(for account: Account, family: UUID, logger: Logger) async throws -> Response {
        let role = account.role
        let claims = AccessClaims(
            subject: account.person.lowercasedString,
            tenant: account.tenant,
            role: role,
            sites: role == .propertyManager ? account.sites : nil,
            buildings: role == .staff ? account.buildings : nil,
            lifetime: Self.accessLifetime
        )
        let tokens = Tokens(
            accessToken: try self.signer.sign(claims),
            expiresIn: Int(Self.accessLifetime.components.seconds),
            refreshToken: try await self.store.issueRefreshToken(account, family: family, logger: logger),
            role: role.rawValue,
            tenantId: account.tenant.description,
            personId: account.person.lowercasedString
        )
        return try Response.json(tokens, headers: [.cacheControl: "no-store"])
    }

    /// The named string fields of a small JSON body; every missing or non-string one is reported.
    static func fields(_ request: Request, _ names: [String]) async throws -> [String: String] {
        let object = try await request.jsonObject(maxBytes: Self.maxBodyBytes).object
        var values: [String: String] = [:]
        var errors: [Problem.FieldError] = []
        for name in names {
            if let value = object[name] as? String, !value.isEmpty {
                values[name] = value
            } else {
                errors.append(.init(field: name, message: "is required (a string)"))
            }
        }
        if !errors.isEmpty { throw Problem.badRequest("invalid request", errors: errors) }
        return values
    }
}
