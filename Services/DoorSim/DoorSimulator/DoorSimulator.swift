public import Foundation
import GatehouseAuth
import GatehouseWire
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A door station's HTTP API, as far as opening doors goes: 2N's `/api/switch/ctrl`, Akuvox's
/// `/api/relay/trig`, DoorBird's `/bha-api/open-door.cgi` and a signed webhook. It records every
/// relay trigger so tests and the demo can check that a door really opened, and can be told to be
/// slow, to fail or to hang (`PUT /sim/behaviour`).
///
/// Credentials are checked the way the vendors do: digest (MD5, `qop=auth`) or basic for 2N and
/// Akuvox, basic for DoorBird, an HMAC-SHA256 signature for the webhook.
public final class DoorSimulator: Sendable {
    public struct Configuration: Sendable {
        public var username: String
        public var password: String
        /// The realm of digest challenges.
        public var realm: String
        /// The secret of the webhook's signature.
        public var webhookSecret: String
        /// Relays 1…`relays` exist; others answer an error like the real APIs.
        public var relays: Int

        public init(username: String, password: String, realm: String = "doorsim", webhookSecret: String = "", relays: Int = 4) {
            self.username = username
            self.password = password
            self.realm = realm
            self.webhookSecret = webhookSecret
            self.relays = relays
        }
    }

    /// One relay trigger the simulator carried out.
    public struct Trigger: Codable, Sendable, Hashable {
        /// `2n`, `akuvox`, `doorbird` or `webhook`.
        public var api: String
        public var relay: Int
        public var at: Date
        /// The webhook's idempotency key.
        public var commandId: String?
    }

    /// How the simulator answers relay requests from now on.
    public struct Behaviour: Codable, Sendable, Hashable {
        /// Waits this long before answering (and triggering).
        public var delayMilliseconds: Int
        /// Answers this HTTP status instead of triggering (500: a failing station).
        public var failWithStatus: Int?
        /// Never answers (until 60 s pass): a station that accepts connections and then hangs.
        public var hang: Bool

        public init(delayMilliseconds: Int = 0, failWithStatus: Int? = nil, hang: Bool = false) {
            self.delayMilliseconds = delayMilliseconds
            self.failWithStatus = failWithStatus
            self.hang = hang
        }
    }

    struct State {
        var triggers: [Trigger] = []
        /// Relay requests received with valid credentials, triggered or not.
        var received = 0
        var behaviour = Behaviour()
        /// Digest nonces handed out (the most recent ``maxNonces``).
        var nonces: [String] = []
        /// Webhook idempotency keys already carried out.
        var commandIds: Set<String> = []
    }

    /// Bounds: recorded triggers, remembered nonces, the longest delay.
    public static let maxTriggers = 10_000
    static let maxNonces = 1_000
    static let maxDelay = Duration.seconds(60)
    static let maxBodyBytes = 16 * 1024

    public let configuration: Configuration
    let state = Mutex(State())
    /// Keeps the door deciding from its offline bundle when access is out of reach (`nil`: the
    /// simulator only answers relay requests).
    public let offline: OfflineFollower?

    public init(configuration: Configuration, offline: OfflineFollower? = nil) {
        self.configuration = configuration
        self.offline = offline
    }

    public var triggers: [Trigger] { self.state.withLock { $0.triggers } }
    public var received: Int { self.state.withLock { $0.received } }
    public func setBehaviour(_ behaviour: Behaviour) { self.state.withLock { $0.behaviour = behaviour } }

    // MARK: - HTTP

    public func register(on router: Router<BasicRequestContext>) {
        router.get("/api/switch/ctrl") { request, context in
            try await self.relay(request, context: context, api: "2n", relay: request.uri.queryParameters["switch"].flatMap { Int($0) }) {
                guard request.uri.queryParameters["action"] == "trigger" else {
                    return Self.json(#"{"success":false,"error":{"code":12,"description":"invalid parameter value","param":"action"}}"#)
                }
                return Self.json(#"{"success":true}"#)
            }
        }
        router.post("/api/relay/trig") { request, context in
            let body = try await request.body.collect(upTo: Self.maxBodyBytes)
            struct Akuvox: Decodable {
                struct Data: Decodable { var num: Int }
                var target: String
                var action: String
                var data: Data
            }
            let command = try? JSONDecoder().decode(Akuvox.self, from: Data(Array(buffer: body)))
            guard let command, command.target == "relay", command.action == "trig" else {
                return Self.json(#"{"retcode":-100,"action":"trig","message":"invalid request"}"#, status: .badRequest)
            }
            return try await self.relay(request, context: context, api: "akuvox", relay: command.data.num) {
                Self.json(#"{"retcode":0,"action":"trig","message":"OK"}"#)
            }
        }
        router.get("/bha-api/open-door.cgi") { request, context in
            try await self.relay(request, context: context, api: "doorbird", relay: request.uri.queryParameters["r"].flatMap { Int($0) } ?? 1) {
                Response(status: .ok)
            }
        }
        router.post("/webhook") { request, context in
            let body = try await request.body.collect(upTo: Self.maxBodyBytes)
            struct Command: Decodable {
                var commandId: String
                var relay: Int
            }
            guard self.verifySignature(request, body: Array(buffer: body)),
                let command = try? JSONDecoder().decode(Command.self, from: Data(Array(buffer: body)))
            else { return Response(status: .unauthorized) }
            return try await self.relay(request, context: context, api: "webhook", relay: command.relay, commandId: command.commandId) {
                Response(status: .ok)
            }
        }
        router.get("/sim/triggers") { _, _ in
            struct Triggers: Encodable {
                var received: Int
                var triggers: [Trigger]
            }
            let (received, triggers) = self.state.withLock { ($0.received, $0.triggers) }
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            return Self.json(String(decoding: try encoder.encode(Triggers(received: received, triggers: triggers)), as: UTF8.self))
        }
        // A credential presented at the door's keypad or reader: access decides, or the bundle
        // when access is out of reach. A grant offline triggers relay 1 itself.
        router.post("/sim/keypad") { request, _ in
            guard let offline = self.offline else { return Self.json(#"{"error":"no offline bundle configured"}"#, status: .notFound) }
            let body = try await request.body.collect(upTo: Self.maxBodyBytes)
            struct Keypad: Decodable {
                var pin: String?
                var qr: String?
                var card: CardRead?
            }
            guard let keypad = try? JSONDecoder().decode(Keypad.self, from: Data(Array(buffer: body))) else { return Response(status: .badRequest) }
            let outcome = await offline.present(pin: keypad.pin, card: keypad.card, qr: keypad.qr)
            if outcome.offline, outcome.granted {
                self.state.withLock { state in
                    if state.triggers.count < Self.maxTriggers { state.triggers.append(Trigger(api: "offline", relay: 1, at: Date())) }
                }
            }
            return Self.json(String(decoding: try JSONEncoder().encode(outcome), as: UTF8.self))
        }
        router.get("/sim/bundle") { _, _ in
            guard let offline = self.offline else { return Self.json(#"{"error":"no offline bundle configured"}"#, status: .notFound) }
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            return Self.json(String(decoding: try encoder.encode(offline.status), as: UTF8.self))
        }
        router.put("/sim/behaviour") { request, _ in
            let body = try await request.body.collect(upTo: Self.maxBodyBytes)
            guard let behaviour = try? JSONDecoder().decode(Behaviour.self, from: Data(Array(buffer: body))) else {
                return Response(status: .badRequest)
            }
            self.setBehaviour(behaviour)
            return Response(status: .noContent)
        }
    }

    /// Checks credentials, counts the request, applies the behaviour, then triggers and answers.
    func relay(
        _ request: Request,
        context: BasicRequestContext,
        api: String,
        relay: Int?,
        commandId: String? = nil,
        answer: () -> Response
    ) async throws -> Response {
        if api != "webhook", let challenge = self.checkCredentials(request, digest: api != "doorbird") {
            return challenge
        }
        guard let relay, (1...self.configuration.relays).contains(relay) else {
            return api == "2n"
                ? Self.json(#"{"success":false,"error":{"code":12,"description":"invalid parameter value","param":"switch"}}"#)
                : Response(status: .badRequest)
        }
        let behaviour = self.state.withLock { state in
            state.received += 1
            return state.behaviour
        }
        if behaviour.hang {
            // Hangs until told otherwise (a new behaviour) or for at most ``maxDelay``.
            let until = ContinuousClock.now + Self.maxDelay
            while ContinuousClock.now < until, self.state.withLock({ $0.behaviour.hang }) {
                try await Task.sleep(for: .milliseconds(20))
            }
            return Response(status: .serviceUnavailable)
        }
        if behaviour.delayMilliseconds > 0 {
            try await Task.sleep(for: min(.milliseconds(behaviour.delayMilliseconds), Self.maxDelay))
        }
        if let status = behaviour.failWithStatus { return Response(status: .init(code: status)) }
        let response = answer()
        guard response.status == .ok else { return response }
        self.state.withLock { state in
            // The webhook is idempotent: a repeated command id is answered without a second trigger.
            if let commandId, !state.commandIds.insert(commandId).inserted { return }
            if state.triggers.count >= Self.maxTriggers { state.triggers.removeFirst() }
            state.triggers.append(Trigger(api: api, relay: relay, at: Date(), commandId: commandId))
        }
        context.logger.info("doorsim: relay triggered", metadata: ["doorsim.api": "\(api)", "doorsim.relay": "\(relay)"])
        return response
    }

    /// `nil` when the request carries valid credentials; otherwise the 401 to answer, with a
    /// digest (or, for DoorBird, basic) challenge.
    func checkCredentials(_ request: Request, digest: Bool) -> Response? {
        let configuration = self.configuration
        if let header = request.headers[.authorization] {
            if header.lowercased().hasPrefix("basic "),
                let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) }),
                decoded == "\(configuration.username):\(configuration.password)"
            {
                return nil
            }
            if digest, let fields = HTTPDigest.parameters(header), fields["username"] == configuration.username,
                let nonce = fields["nonce"], self.state.withLock({ $0.nonces.contains(nonce) }), let uri = fields["uri"],
                uri == request.uri.description, let response = fields["response"]
            {
                let expected = SIPDigest.response(
                    ha1: SIPDigest.ha1(username: configuration.username, realm: configuration.realm, password: configuration.password, .md5),
                    method: request.method.rawValue,
                    uri: uri,
                    nonce: nonce,
                    nonceCount: fields["nc"],
                    clientNonce: fields["cnonce"],
                    qop: fields["qop"],
                    .md5
                )
                if expected == response { return nil }
            }
        }
        var headers = HTTPFields()
        if digest {
            let nonce = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            self.state.withLock { state in
                if state.nonces.count >= Self.maxNonces { state.nonces.removeFirst() }
                state.nonces.append(nonce)
            }
            headers[.wwwAuthenticate] = #"Digest realm="\#(configuration.realm)", qop="auth", algorithm=MD5, nonce="\#(nonce)""#
        } else {
            headers[.wwwAuthenticate] = #"Basic realm="\#(configuration.realm)""#
        }
        return Response(status: .unauthorized, headers: headers)
    }

    /// The webhook's `Gatehouse-Signature: v1=<hex HMAC-SHA256(secret, timestamp "." body)>` over
    /// a `Gatehouse-Timestamp` at most 5 minutes old.
    func verifySignature(_ request: Request, body: [UInt8]) -> Bool {
        guard let timestampText = request.headers[HTTPField.Name("Gatehouse-Timestamp")!], let timestamp = Int(timestampText),
            abs(Int(Date().timeIntervalSince1970) - timestamp) <= 300,
            let signature = request.headers[HTTPField.Name("Gatehouse-Signature")!]
        else { return false }
        return WebhookSignature.verify(signature, secret: self.configuration.webhookSecret, timestamp: timestamp, body: body)
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
}
