public import Foundation
public import GatehouseAuth
public import GatehouseNATS
public import GatehouseWire
public import Hummingbird
public import Logging
public import ServiceLifecycle
import Synchronization

/// Where services find the issuer's public keys: the JetStream key-value bucket `gatehouse_auth`,
/// key `jwks` (a JWKS document). Identity writes it at start; every service watches it, so keys
/// rotate without restarts and tokens are verified locally.
public enum AuthKeyDistribution {
    public static let bucket = "gatehouse_auth"
    public static let key = "jwks"
    public static let configuration = KeyValueConfiguration(bucket: bucket, history: 1)
}

/// The key set a service currently trusts.
public final class AuthKeys: Sendable {
    private let verifier: Mutex<TokenVerifier>

    public init(_ keySet: JWKS = JWKS(keys: [])) { self.verifier = Mutex(TokenVerifier(keySet: keySet)) }

    public func update(_ keySet: JWKS) { self.verifier.withLock { $0 = TokenVerifier(keySet: keySet) } }

    public var current: TokenVerifier { self.verifier.withLock { $0 } }

    /// The principal of a request's `Authorization: Bearer …` header, or a 401 problem. The token
    /// itself is never logged.
    public func authenticate(_ request: Request, logger: Logger) throws -> Principal {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw Problem.unauthorized("a bearer token is required")
        }
        do {
            return try self.current.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        } catch let error as TokenError {
            logger.info("token refused", metadata: ["gatehouse.reason": "\(error)"])
            throw Problem.unauthorized(error == .expired ? "the token has expired" : "the token is not valid")
        }
    }
}

extension AuthKeys {
    /// The caller of a route under `/v1/tenants/:tenant/…`, checked against the tenant in the path
    /// (a tenant the caller may not see is answered 404, as if it did not exist) and the route's
    /// scope (403).
    public func authorize(_ request: Request, context: BasicRequestContext, scope: Scope) throws -> (TenantID, Principal) {
        let principal = try self.authenticate(request, logger: context.logger)
        guard let tenant = context.parameters.get("tenant").flatMap(TenantID.init), principal.canSee(tenant: tenant) else {
            throw Problem.notFound("no such tenant")
        }
        guard principal.has(scope) else { throw Problem.forbidden("the \(principal.role.rawValue) role may not \(scope.rawValue)") }
        return (tenant, principal)
    }
}

extension AuthKeys {
    /// The caller of a route under `/v1/tenants/:tenant/people/:person/…` that the person may use
    /// on themselves and holders of `scope` on anyone of the tenant: the tenant and person, or 404
    /// (tenant not visible, no person id) or 403.
    public func authorize(_ request: Request, context: BasicRequestContext, personOr scope: Scope) throws -> (TenantID, UUID) {
        let principal = try self.authenticate(request, logger: context.logger)
        guard let tenant = context.parameters.get("tenant").flatMap(TenantID.init), principal.canSee(tenant: tenant),
            let person = context.parameters.get("person").flatMap(UUID.init(uuidString:))
        else { throw Problem.notFound("no such person") }
        let isSelf = principal.claims.sub == person.lowercasedString && principal.claims.tid == tenant
        guard isSelf || principal.has(scope) else { throw Problem.forbidden("only the person or a holder of \(scope.rawValue) may do this") }
        return (tenant, person)
    }
}

/// Keeps ``AuthKeys`` equal to the published key set.
public struct AuthKeyWatcher: Service {
    let nats: NATSClient
    let keys: AuthKeys
    let logger: Logger

    public init(nats: NATSClient, keys: AuthKeys, logger: Logger) {
        self.nats = nats
        self.keys = keys
        self.logger = logger
    }

    public func run() async throws {
        var backoff = Duration.milliseconds(200)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let store = try await self.nats.jetStream.createKeyValue(AuthKeyDistribution.configuration)
                for try await entry in try await store.watch(AuthKeyDistribution.key).cancelOnGracefulShutdown() {
                    guard entry.operation == .put else { continue }
                    do {
                        let keySet = try JSONDecoder().decode(JWKS.self, from: Data(entry.value))
                        self.keys.update(keySet)
                        self.logger.info("auth keys loaded", metadata: ["gatehouse.keys": "\(keySet.keys.map(\.kid))"])
                    } catch {
                        self.logger.error("published auth keys are not a JWKS; keeping the previous ones")
                    }
                    backoff = .milliseconds(200)
                }
            } catch {
                self.logger.warning("auth key watch failed; retrying", metadata: ["error.type": "\(error)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(10))
        }
    }
}

extension Problem {
    public static func unauthorized(_ detail: String) -> Problem {
        Problem(slug: "unauthorized", title: "Unauthorized", status: .unauthorized, detail: detail)
    }

    public static func forbidden(_ detail: String) -> Problem {
        Problem(slug: "forbidden", title: "Forbidden", status: .forbidden, detail: detail)
    }
}
