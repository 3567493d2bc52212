import GatehouseSIP
import Synchronization

/// Server transactions (RFC 3261 §17.2) as far as a registrar and the request checks need them:
/// a retransmitted request is matched to its transaction and gets the same final response again
/// (or nothing while the first copy is still being worked on), instead of being processed twice.
/// Over UDP a finished transaction is kept for Timer J (64·T1 = 32 s); over reliable transports it
/// ends with its response.
final class ServerTransactions: Sendable {
    struct Key: Hashable, Sendable {
        var branch: String
        var sentBy: String
        var method: String
    }

    enum Begin: Sendable {
        /// A new transaction: process the request.
        case new
        /// A retransmission: send this response again (nil while still processing).
        case retransmission(SIPResponse?)
        /// The table is full: answer 503.
        case full
    }

    struct State {
        var entries: [Key: SIPResponse?] = [:]
        /// Finished transactions in the order they end; all live equally long, so the front
        /// expires first.
        var expiries: [(key: Key, at: ContinuousClock.Instant)] = []
        var head = 0
    }

    let capacity: Int
    let linger: Duration
    private let state = Mutex(State())
    /// INVITE transactions over UDP whose non-2xx final is resent until its ACK.
    private let unacknowledged = Mutex<Set<Key>>([])
    /// At most this many finals are resent at once; beyond it they are sent once (a flood of
    /// INVITEs from forged addresses must not turn us into an amplifier).
    static let maxUnacknowledged = 10_000

    init(capacity: Int, linger: Duration = .seconds(32)) {
        self.capacity = capacity
        self.linger = linger
    }

    /// The transaction key of a request: RFC 3261 §17.2.3 with the magic cookie, the RFC 2543
    /// fallback (Call-ID, CSeq, From tag, top Via, Request-URI) without. ACK matches INVITE.
    static func key(_ request: SIPRequest) -> Key? {
        guard let via = request.headers.topVia else { return nil }
        let method = request.method == .ack ? "INVITE" : request.method.description
        let sentBy = via.port.map { "\(via.host):\($0)" } ?? via.host
        if via.hasRFC3261Branch, let branch = via.branch {
            return Key(branch: branch, sentBy: sentBy, method: method)
        }
        let legacy = [
            request.headers.callID ?? "", "\(request.headers.cseq?.number ?? 0)", request.headers.from?.tag ?? "",
            request.headers.values(.via).first ?? "", request.uri.description,
        ].joined(separator: "|")
        return Key(branch: "rfc2543|" + legacy, sentBy: sentBy, method: method)
    }

    func begin(_ key: Key, now: ContinuousClock.Instant = .now) -> Begin {
        self.state.withLock { state in
            self.expire(&state, now: now)
            if let existing = state.entries[key] { return .retransmission(existing) }
            guard state.entries.count < self.capacity else { return .full }
            state.entries[key] = .some(nil)
            return .new
        }
    }

    /// Records the final response; kept for retransmissions over UDP only.
    func complete(_ key: Key, response: SIPResponse, reliable: Bool, now: ContinuousClock.Instant = .now) {
        self.state.withLock { state in
            if reliable {
                state.entries.removeValue(forKey: key)
            } else {
                state.entries[key] = response
                state.expiries.append((key, now + self.linger))
            }
        }
    }

    /// Records and sends a final response (`send` sends it). A non-2xx final to an INVITE over UDP
    /// is sent again after 0.5, 1, 2, 4, 4… s until its ACK arrives (``acknowledge(_:)``) or 32 s
    /// have passed (RFC 3261 §17.2.1, Timers G and H).
    func answer(_ key: Key, with response: SIPResponse, reliable: Bool, send: @escaping @Sendable () -> Void) {
        self.complete(key, response: response, reliable: reliable)
        send()
        guard !reliable, key.method == SIPMethod.invite.description, response.status >= 300 else { return }
        let waiting = self.unacknowledged.withLock { set -> Bool in
            guard set.count < Self.maxUnacknowledged else { return false }
            return set.insert(key).inserted
        }
        guard waiting else { return }
        Retransmission.start(cap: .seconds(4), while: { self.unacknowledged.withLock { $0.contains(key) } }, send: send) {
            self.acknowledge(key)
        }
    }

    /// The ACK for a non-2xx final arrived (or Timer H ended the wait).
    func acknowledge(_ key: Key) {
        _ = self.unacknowledged.withLock { $0.remove(key) }
    }

    /// Finals being resent until their ACK.
    var awaitingAcknowledgement: Int { self.unacknowledged.withLock { $0.count } }

    /// Forgets a transaction that ended without a response (the request was dropped).
    func abandon(_ key: Key) {
        _ = self.state.withLock { $0.entries.removeValue(forKey: key) }
    }

    private func expire(_ state: inout State, now: ContinuousClock.Instant) {
        while state.head < state.expiries.count, state.expiries[state.head].at <= now {
            state.entries.removeValue(forKey: state.expiries[state.head].key)
            state.head += 1
        }
        if state.head > 4_096, state.head * 2 > state.expiries.count {
            state.expiries.removeFirst(state.head)
            state.head = 0
        }
    }
}

/// RFC 3261's retransmission timers over UDP: `send` again after T1 (0.5 s), the interval doubling
/// up to `cap` (Timer A: no cap; Timer G: T2 = 4 s), while `pending()` holds, until 64·T1 (32 s)
/// have passed; then `ended()`.
enum Retransmission {
    static func start(
        cap: Duration = .seconds(32),
        while pending: @escaping @Sendable () -> Bool,
        send: @escaping @Sendable () -> Void,
        ended: @escaping @Sendable () -> Void = {}
    ) {
        Task {
            var interval = Duration.milliseconds(500)
            var waited = Duration.zero
            while waited + interval <= .seconds(32) {
                try? await Task.sleep(for: interval)
                waited += interval
                guard pending() else { return }
                send()
                interval = min(interval * 2, cap)
            }
            ended()
        }
    }
}
