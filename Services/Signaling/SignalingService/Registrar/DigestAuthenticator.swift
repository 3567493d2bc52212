import Crypto
import Foundation
import GatehouseAuth
import GatehouseSIP
import GatehouseWire
import Logging
import ServiceKit
import Synchronization

/// Looks up SIP accounts: identity's `identity.sip_digest` over NATS in production.
protocol SIPAccountDirectory: Sendable {
    /// The account `username@realm`; nil when there is none (or it was revoked).
    func account(realm: String, username: String) async throws -> SIPAccount?
}

/// Asks identity over NATS; only signaling's NATS user may (decision 0009).
struct IdentityAccountDirectory: SIPAccountDirectory {
    let bus: MessageBus
    let timeout: Duration

    func account(realm: String, username: String) async throws -> SIPAccount? {
        do {
            return try await self.bus.request(SIPDigestLookup(realm: realm, username: username), timeout: self.timeout)
        } catch let error as WireError where error.code == .notFound {
            return nil
        }
    }
}

/// Digest authentication of requests from devices (RFC 3261 §22, RFC 8760), for REGISTER (401,
/// WWW-Authenticate) and every other request (407, Proxy-Authenticate).
///
/// Known and unknown users are treated alike: the same challenge, the same 403 for a wrong
/// answer, and the same work (an unknown user is checked against a throwaway HA1), so the
/// answers enumerate nothing. Each wrong answer counts against the source address.
final class DigestAuthenticator: Sendable {
    enum Result: Sendable {
        case authenticated(SIPAccount)
        /// Challenge (again); `stale` when the answer was right but the nonce is not good any more.
        case challenge(stale: Bool)
        /// A wrong answer (counted against the address; `banned` when this one got it banned).
        case forbidden(banned: Bool)
        /// Identity could not be asked: 503.
        case unavailable
    }

    let directory: any SIPAccountDirectory
    let challenges: DigestChallenges
    let sources: SourceGuard
    /// The challenges offered, most preferred first.
    let algorithms: [SIPDigest.Algorithm]
    let logger: Logger
    private let decoyKey = SymmetricKey(size: .bits256)
    private let failureCount = Atomic<Int>(0)

    /// Wrong answers seen since start (all addresses).
    var failures: Int { self.failureCount.load(ordering: .relaxed) }

    init(
        directory: any SIPAccountDirectory,
        challenges: DigestChallenges,
        sources: SourceGuard,
        algorithms: [SIPDigest.Algorithm],
        logger: Logger
    ) {
        self.directory = directory
        self.challenges = challenges
        self.sources = sources
        self.algorithms = algorithms
        self.logger = logger
    }

    /// Checks the request's credentials for `realm`, from header `name` (Authorization or
    /// Proxy-Authorization).
    func authenticate(_ request: SIPRequest, realm: String, header name: SIPHeaderName, from peer: SIPPeer) async -> Result {
        let offered = request.headers.compactMap { field -> SIPDigestCredentials? in
            field.name == name ? SIPDigestCredentials(field.value) : nil
        }
        guard let credentials = offered.first(where: { $0.realm.lowercased() == realm.lowercased() }) else {
            return .challenge(stale: false)
        }
        let algorithm: SIPDigest.Algorithm
        switch credentials.algorithm?.uppercased() {
        case nil, "MD5": algorithm = .md5
        case "SHA-256": algorithm = .sha256
        default: return .challenge(stale: false)
        }
        guard self.algorithms.contains(algorithm), credentials.qop?.lowercased() == "auth", let clientNonce = credentials.clientNonce,
            let nonceCount = credentials.nonceCount
        else { return .challenge(stale: false) }
        let account: SIPAccount?
        do {
            account = try await self.directory.account(realm: realm.lowercased(), username: credentials.username)
        } catch {
            self.logger.warning("sip: identity did not answer a digest lookup", metadata: ["error": "\(error)"])
            return .unavailable
        }
        let ha1 =
            account.map { algorithm == .md5 ? $0.ha1MD5 : $0.ha1SHA256 }
            ?? Hex.encode(HMAC<SHA256>.authenticationCode(for: Array("\(credentials.username)@\(realm)".utf8), using: self.decoyKey))
            .prefix(algorithm.length * 2).description
        let expected = SIPDigest.response(
            ha1: ha1,
            method: request.method.description,
            uri: credentials.uri,
            nonce: credentials.nonce,
            nonceCount: nonceCount,
            clientNonce: clientNonce,
            qop: "auth",
            algorithm
        )
        // The digest URI must be this request's (RFC 2617 §3.2.2.5): compared as URIs.
        let uriMatches = SIPURI(credentials.uri).map { $0 == request.uri } ?? (credentials.uri == request.uri.description)
        guard let account, uriMatches, Array(expected.utf8).constantTimeEquals(Array(credentials.response.lowercased().utf8)) else {
            self.logger.debug(
                "sip: authentication failed",
                metadata: [
                    "gatehouse.peer": "\(peer)", "gatehouse.sip_user": "\(credentials.username)",
                    "gatehouse.reason":
                        "\(account == nil ? "unknown account" : uriMatches ? "wrong response" : "digest URI \(credentials.uri) differs")",
                ]
            )
            self.failureCount.add(1, ordering: .relaxed)
            let banned = self.sources.failed(peer.ip)
            if banned { self.logger.notice("sip: address banned after failed authentications", metadata: ["gatehouse.peer": "\(peer.ip)"]) }
            return .forbidden(banned: banned)
        }
        switch self.challenges.check(nonce: credentials.nonce, nonceCount: nonceCount) {
        case .valid:
            self.sources.succeeded(peer.ip)
            return .authenticated(account)
        case .stale, .invalid:
            return .challenge(stale: true)
        }
    }

    /// What to do with a request after authenticating it: go on with the account, answer it
    /// (401/407 challenge, 403, 503), or drop it (its source was just banned). REGISTER is
    /// challenged with 401 and WWW-Authenticate, everything else with 407 and Proxy-Authenticate.
    enum Decision: Sendable {
        case authenticated(SIPAccount)
        case respond(SIPResponse)
        case drop
    }

    func authorize(_ request: SIPRequest, realm: String, from peer: SIPPeer) async -> Decision {
        let proxy = request.method != .register
        let toTag = SIPCore.toTag(for: request)
        switch await self.authenticate(request, realm: realm, header: proxy ? .proxyAuthorization : .authorization, from: peer) {
        case .authenticated(let account):
            return .authenticated(account)
        case .challenge(let stale):
            var response = SIPResponse(status: proxy ? 407 : 401, replyingTo: request.headers, toTag: toTag)
            for value in self.challengeValues(realm: realm, stale: stale) {
                response.headers.add(proxy ? .proxyAuthenticate : .wwwAuthenticate, value)
            }
            return .respond(response)
        case .forbidden(let banned):
            return banned ? .drop : .respond(SIPResponse(status: 403, replyingTo: request.headers, toTag: toTag))
        case .unavailable:
            var response = SIPResponse(status: 503, replyingTo: request.headers, toTag: toTag)
            response.headers.add(.retryAfter, "5")
            return .respond(response)
        }
    }

    /// The challenge header values for `realm`, one per offered algorithm.
    func challengeValues(realm: String, stale: Bool) -> [String] {
        let nonce = self.challenges.nonce()
        return self.algorithms.map { algorithm in
            "Digest realm=\"\(realm)\", nonce=\"\(nonce)\", algorithm=\(algorithm.rawValue), qop=\"auth\"" + (stale ? ", stale=true" : "")
        }
    }
}
