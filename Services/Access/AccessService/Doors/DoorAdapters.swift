import AsyncHTTPClient
package import Foundation
import GatehouseAuth
package import GatehouseWire
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceKit
import ServiceLifecycle

/// Which HTTP API opens a door station's relay, chosen from the station's vendor in identity.
package enum DoorAdapterKind: String, Sendable, Hashable, CaseIterable {
    /// 2N IP intercoms: `GET /api/switch/ctrl?switch=N&action=trigger`, digest or basic auth,
    /// answers `{"success": true}`.
    case twoN = "2n"
    /// Akuvox: `POST /api/relay/trig` with `{"target":"relay","action":"trig","data":{"num":N}}`,
    /// answers `{"retcode": 0}`.
    case akuvox
    /// DoorBird: `GET /bha-api/open-door.cgi?r=N` with basic auth.
    case doorbird
    /// Anything else: a signed webhook (`POST` to the control URL, HMAC-SHA256 signature,
    /// idempotency key), for controllers and stations without one of the APIs above.
    case webhook

    /// The adapter for a station of `vendor`; Aiphone stations have no door API we drive (`nil`).
    package init?(vendor: String) {
        switch vendor {
        case "2n": self = .twoN
        case "akuvox": self = .akuvox
        case "doorbird": self = .doorbird
        case "generic": self = .webhook
        default: return nil
        }
    }

    /// Whether sending the command twice opens the door once: only the webhook carries an
    /// idempotency key, so only it is retried.
    var isIdempotent: Bool { self == .webhook }
}

/// Everything needed to tell one station to open one relay.
package struct DoorTarget: Sendable {
    package var adapter: DoorAdapterKind
    /// The station's control URL (`https://10.0.0.5`, or the webhook's URL).
    package var baseURL: String
    package var relay: Int
    package var username: String?
    /// The HTTP API password, or the webhook's signing secret.
    package var secret: String?
    /// Whether the station's TLS certificate must verify (many stations ship self-signed ones).
    package var verifyTLS: Bool

    package init(adapter: DoorAdapterKind, baseURL: String, relay: Int, username: String?, secret: String?, verifyTLS: Bool) {
        self.adapter = adapter
        self.baseURL = baseURL
        self.relay = relay
        self.username = username
        self.secret = secret
        self.verifyTLS = verifyTLS
    }
}

/// Why a door command did not open the door.
package struct DoorCommandError: Error, Sendable, CustomStringConvertible {
    package var failure: DoorCommandFailure
    package var httpStatus: Int?
    package var detail: String

    package init(_ failure: DoorCommandFailure, httpStatus: Int? = nil, _ detail: String) {
        self.failure = failure
        self.httpStatus = httpStatus
        self.detail = detail
    }

    package var description: String { "\(self.failure.rawValue): \(self.detail)" }
}

/// Talks to door stations over HTTP. Every command has a deadline: what cannot be done by then is
/// abandoned and reported, never queued to fire later; only idempotent targets are retried.
package final class DoorHTTPClient: Service, Sendable {
    /// The most a station's answer may weigh.
    static let maxResponseBytes = 64 * 1024

    let verifying: HTTPClient
    let insecure: HTTPClient

    package init() {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        self.verifying = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var insecure = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        insecure.tlsConfiguration = tls
        self.insecure = HTTPClient(eventLoopGroupProvider: .singleton, configuration: insecure)
    }

    /// Keeps the clients until graceful shutdown, then closes their connections.
    package func run() async throws {
        try? await gracefulShutdown()
        try await self.shutdown()
    }

    package func shutdown() async throws {
        try await self.verifying.shutdown()
        try await self.insecure.shutdown()
    }

    /// Opens `target`'s relay, by `deadline`.
    package func open(_ target: DoorTarget, command: UUID, door: UUID, deadline: ContinuousClock.Instant) async throws(DoorCommandError) {
        guard let base = URL(string: target.baseURL), ["http", "https"].contains(base.scheme?.lowercased() ?? "") else {
            throw DoorCommandError(.notConfigured, "the control URL is not an http(s) URL")
        }
        let root = target.baseURL.hasSuffix("/") ? String(target.baseURL.dropLast()) : target.baseURL
        switch target.adapter {
        case .twoN:
            let (status, body) = try await self.send(
                .GET,
                "\(root)/api/switch/ctrl?switch=\(target.relay)&action=trigger",
                body: nil,
                target: target,
                deadline: deadline
            )
            struct Answer: Decodable { var success: Bool }
            guard status == 200, (try? JSONDecoder().decode(Answer.self, from: Data(body)))?.success == true else {
                throw DoorCommandError(.rejected, httpStatus: status, "the station did not confirm the trigger")
            }
        case .akuvox:
            let json = #"{"target":"relay","action":"trig","data":{"num":\#(target.relay),"mode":0,"level":1,"delay":5}}"#
            let (status, body) = try await self.send(.POST, "\(root)/api/relay/trig", body: Array(json.utf8), target: target, deadline: deadline)
            struct Answer: Decodable { var retcode: Int }
            guard status == 200, (try? JSONDecoder().decode(Answer.self, from: Data(body)))?.retcode == 0 else {
                throw DoorCommandError(.rejected, httpStatus: status, "the station did not confirm the trigger")
            }
        case .doorbird:
            let (status, _) = try await self.send(
                .GET,
                "\(root)/bha-api/open-door.cgi?r=\(target.relay)",
                body: nil,
                target: target,
                deadline: deadline
            )
            guard (200..<300).contains(status) else { throw DoorCommandError(.rejected, httpStatus: status, "the station refused") }
        case .webhook:
            try await self.webhook(target, url: target.baseURL, command: command, door: door, deadline: deadline)
        }
    }

    /// The signed webhook, resent with backoff while it fails for reasons worth retrying (no
    /// connection, 5xx) and the deadline allows: the idempotency key makes a repeat harmless.
    func webhook(_ target: DoorTarget, url: String, command: UUID, door: UUID, deadline: ContinuousClock.Instant) async throws(DoorCommandError) {
        let body = Array(
            #"{"commandId":"\#(command.lowercasedString)","doorId":"\#(door.lowercasedString)","relay":\#(target.relay),"action":"open"}"#.utf8
        )
        var pause = Duration.milliseconds(100)
        var lastError = DoorCommandError(.timeout, "no attempt fitted in the deadline")
        for _ in 0..<10 {
            let timestamp = Int(Date().timeIntervalSince1970)
            let headers = [
                ("Gatehouse-Timestamp", "\(timestamp)"),
                ("Gatehouse-Signature", WebhookSignature.sign(secret: target.secret ?? "", timestamp: timestamp, body: body)),
                ("Idempotency-Key", command.lowercasedString),
                ("Content-Type", "application/json"),
            ]
            do throws(DoorCommandError) {
                let (status, _, _) = try await self.execute(.POST, url, headers: headers, body: body, verifyTLS: target.verifyTLS, deadline: deadline)
                if (200..<300).contains(status) { return }
                if status == 401 || status == 403 { throw DoorCommandError(.unauthorized, httpStatus: status, "the webhook refused the signature") }
                lastError = DoorCommandError(.rejected, httpStatus: status, "the webhook answered \(status)")
                guard status >= 500 else { throw lastError }
            } catch {
                guard error.failure == .unreachable || error.failure == .rejected else { throw error }
                lastError = error
            }
            guard ContinuousClock.now + pause < deadline else { break }
            try? await Task.sleep(for: pause)
            pause *= 2
        }
        throw lastError
    }

    /// One request; on a 401 challenge, once more with digest (or basic) credentials.
    func send(
        _ method: HTTPMethod,
        _ url: String,
        body: [UInt8]?,
        target: DoorTarget,
        deadline: ContinuousClock.Instant
    ) async throws(DoorCommandError) -> (Int, [UInt8]) {
        var headers: [(String, String)] = body == nil ? [] : [("Content-Type", "application/json")]
        let basic = target.username.map { "Basic " + Data("\($0):\(target.secret ?? "")".utf8).base64EncodedString() }
        // DoorBird speaks basic only: send it at once instead of waiting for the challenge.
        if target.adapter == .doorbird, let basic { headers.append(("Authorization", basic)) }
        let (status, answer, challenge) = try await self.execute(
            method,
            url,
            headers: headers,
            body: body,
            verifyTLS: target.verifyTLS,
            deadline: deadline
        )
        guard status == 401, let username = target.username, let challenge else {
            if status == 401 || status == 403 { throw DoorCommandError(.unauthorized, httpStatus: status, "the station refused the credentials") }
            return (status, answer)
        }
        let authorization: String?
        if challenge.lowercased().hasPrefix("digest") {
            let components = URLComponents(string: url)
            let uri = (components?.percentEncodedPath ?? "/") + (components?.percentEncodedQuery.map { "?" + $0 } ?? "")
            authorization = HTTPDigest.authorization(
                challenge: challenge,
                username: username,
                password: target.secret ?? "",
                method: method.rawValue,
                uri: uri,
                clientNonce: UUID().uuidString.replacing("-", with: "").lowercased()
            )
        } else {
            authorization = basic
        }
        guard let authorization else { throw DoorCommandError(.unauthorized, httpStatus: 401, "the station's challenge is not one we answer") }
        let (retried, retriedBody, _) = try await self.execute(
            method,
            url,
            headers: headers.filter { $0.0 != "Authorization" } + [("Authorization", authorization)],
            body: body,
            verifyTLS: target.verifyTLS,
            deadline: deadline
        )
        if retried == 401 || retried == 403 { throw DoorCommandError(.unauthorized, httpStatus: retried, "the station refused the credentials") }
        return (retried, retriedBody)
    }

    /// The one place a request leaves: bounded by `deadline`, errors sorted into timeout or
    /// unreachable.
    func execute(
        _ method: HTTPMethod,
        _ url: String,
        headers: [(String, String)],
        body: [UInt8]?,
        verifyTLS: Bool,
        deadline: ContinuousClock.Instant
    ) async throws(DoorCommandError) -> (status: Int, body: [UInt8], challenge: String?) {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { throw DoorCommandError(.timeout, "the deadline passed before the request was sent") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "User-Agent", value: "gatehouse-access")
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let client = verifyTLS ? self.verifying : self.insecure
            let response = try await client.execute(request, deadline: .now() + .nanoseconds(remaining.nanosecondsClamped))
            let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
            return (Int(response.status.code), Array(buffer: bytes), response.headers.first(name: "WWW-Authenticate"))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw DoorCommandError(.timeout, "no answer within the deadline")
        } catch {
            // Refused, unroutable, TLS failures: the client keeps trying to connect until the
            // deadline and then names the connection's error.
            throw DoorCommandError(.unreachable, "\(error)")
        }
    }
}
