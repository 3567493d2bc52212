import Foundation
import GatehouseSIP
import GatehouseWire
import Logging

/// The registrar (RFC 3261 §10.3): authenticates a REGISTER against identity's HA1, applies its
/// contacts to the location store, and answers with the device's bindings.
final class Registrar: Sendable {
    let policy: SignalingConfiguration.RegistrarPolicy
    let authenticator: DigestAuthenticator
    let store: LocationStore
    let instance: String
    let logger: Logger

    init(policy: SignalingConfiguration.RegistrarPolicy, authenticator: DigestAuthenticator, store: LocationStore, instance: String, logger: Logger) {
        self.policy = policy
        self.authenticator = authenticator
        self.store = store
        self.instance = instance
        self.logger = logger
    }

    /// The response to a REGISTER (already checked with `syntaxProblem` and `registrarProblem`),
    /// or nil to send none (the source just got banned).
    func register(_ request: SIPRequest, from peer: SIPPeer) async -> SIPResponse? {
        guard let to = request.headers.to, let user = to.uri.userDecoded else {
            return self.reply(request, 400, detail: "the address of record needs a user")
        }
        // The realm is the AOR's domain: the site's SIP domain (a device may send its REGISTER to
        // the server's address rather than the domain).
        let realm = to.uri.host
        let account: SIPAccount
        switch await self.authenticator.authorize(request, realm: realm, from: peer) {
        case .authenticated(let found): account = found
        case .respond(let response): return response
        case .drop: return nil
        }
        // A device registers itself only: the credentials' user is the address of record's.
        guard account.username == user else { return self.reply(request, 403, detail: "a device registers only its own address") }
        let contacts = request.headers.values(.contact)
        let removeAll = contacts == ["*"]
        var updates: [ContactUpdate] = []
        if !removeAll {
            let headerExpires = request.headers.expires.map(Int.init)
            for value in contacts {
                guard let address = SIPAddress(value), address.uri.isSIP else { return self.reply(request, 400, detail: "malformed Contact") }
                var expires = headerExpires ?? self.policy.defaultExpires
                if case .some(.some(let text)) = address.parameters["expires"] {
                    guard let seconds = SIPHeaders.deltaSeconds(text).map(Int.init) else {
                        return self.reply(request, 400, detail: "malformed expires")
                    }
                    expires = seconds
                }
                if expires > 0, expires < self.policy.minExpires {
                    var response = self.reply(request, 423)
                    response.headers.add(.minExpires, "\(self.policy.minExpires)")
                    return response
                }
                var q: Double?
                if case .some(.some(let text)) = address.parameters["q"] {
                    guard let value = Double(text), (0...1).contains(value) else { return self.reply(request, 400, detail: "malformed q") }
                    q = value
                }
                updates.append(ContactUpdate(contact: address.uri.description, expires: Swift.min(expires, self.policy.maxExpires), q: q))
            }
        }
        let bindings: [Binding]
        do {
            bindings = try await self.store.register(
                RegistrationUpdate(
                    account: account,
                    aor: "\(user)@\(realm)",
                    removeAll: removeAll,
                    contacts: updates,
                    callID: request.headers.callID ?? "",
                    cseq: Int64(request.headers.cseq?.number ?? 0),
                    transport: peer.transport.rawValue,
                    sourceIP: peer.ip,
                    sourcePort: peer.port,
                    instance: self.instance,
                    userAgent: request.headers[.userAgent].map { String($0.prefix(256)) }
                ),
                logger: self.logger
            )
        } catch let error as RegistrationError {
            return self.reply(request, error.status, detail: error.detail)
        } catch {
            self.logger.error("sip: the location store failed", metadata: ["error": "\(error)"])
            var response = self.reply(request, 500)
            response.headers.add(.retryAfter, "5")
            return response
        }
        var response = self.reply(request, 200)
        let now = Date()
        for binding in bindings {
            let left = Swift.max(0, Int(binding.expiresAt.timeIntervalSince(now).rounded()))
            response.headers.add(.contact, "<\(binding.contact)>;expires=\(left)")
        }
        response.headers.add(.date, Self.httpDate(now))
        return response
    }

    func reply(_ request: SIPRequest, _ status: Int, detail: String? = nil) -> SIPResponse {
        var response = SIPResponse(status: status, replyingTo: request.headers, toTag: SIPCore.toTag(for: request))
        if let detail { response.headers.add("Warning", "399 gatehouse \"\(detail)\"") }
        return response
    }

    /// RFC 7231 IMF-fixdate, as SIP's Date header wants (RFC 3261 §20.17).
    /// Written out by hand: a DateFormatter per response cost more than the rest of the answer.
    static func httpDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = Self.weekdays[Int(parts.tm_wday)]
        let month = Self.months[Int(parts.tm_mon)]
        return "\(day), \(two(parts.tm_mday)) \(month) \(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
