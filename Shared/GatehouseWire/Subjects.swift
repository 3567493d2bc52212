/// NATS subjects of the wire contract. Every subject is built here, nowhere else.
///
/// - Events: `gatehouse.v1.evt.<tenantId>.<domain>.<event>` (`….<event>.v2` for a second version),
///   so an integrator's credentials can be limited to `gatehouse.v1.evt.<their tenant>.>`.
/// - Requests: `gatehouse.v1.rpc.<service>.<method>`.
public enum Subjects {
    /// The prefix every event subject starts with; the audit stream captures `events + ".>"`.
    public static let events = "gatehouse.v1.evt"
    /// The prefix every request subject starts with.
    public static let rpc = "gatehouse.v1.rpc"

    /// Every event of every tenant (the audit stream's filter).
    public static let allEvents = "\(events).>"

    /// Every event of one tenant: what an integrator of that tenant may subscribe to.
    public static func events(of tenant: TenantID) -> String { "\(events).\(tenant).>" }

    /// The subject of one event type for one tenant.
    public static func event(_ type: EventType, tenant: TenantID) -> String {
        let base = "\(events).\(tenant).\(type.domain).\(type.name)"
        return type.version == 1 ? base : "\(base).v\(type.version)"
    }

    /// The subject of one request method.
    public static func request(_ method: RPCMethod) -> String { "\(rpc).\(method.service).\(method.name)" }

    /// Parses an event subject into its tenant and the rest; `nil` when it is not one.
    public static func parseEvent(_ subject: String) -> (tenant: TenantID, domain: String, name: String, version: Int)? {
        let parts = subject.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 6 || parts.count == 7, parts[0] == "gatehouse", parts[1] == "v1", parts[2] == "evt",
            let tenant = TenantID(String(parts[3]))
        else { return nil }
        var version = 1
        if parts.count == 7 {
            guard parts[6].first == "v", let parsed = Int(parts[6].dropFirst()), parsed >= 2 else { return nil }
            version = parsed
        }
        return (tenant, String(parts[4]), String(parts[5]), version)
    }

    /// True when `token` can stand as one subject token: non-empty, no `.`, `*`, `>` or whitespace.
    public static func isValidToken(_ token: String) -> Bool {
        !token.isEmpty && !token.contains { $0 == "." || $0 == "*" || $0 == ">" || $0.isWhitespace }
    }
}

/// NATS header names of the wire contract.
public enum WireHeaders {
    /// JetStream de-duplication id; equals the CloudEvent `id`.
    public static let messageID = "Nats-Msg-Id"
    /// W3C trace context.
    public static let traceparent = "traceparent"
    public static let tracestate = "tracestate"
    /// The tenant a request acts for, when it acts for one.
    public static let tenant = "Gatehouse-Tenant"
    /// The CloudEvent `type` of an event message, so consumers can route without parsing.
    public static let eventType = "Gatehouse-Event-Type"
    /// When the caller of a request stops waiting for the reply: Unix time in milliseconds. A
    /// responder drops a request that arrives (or waits in its queue) past it, so nothing is done
    /// for a caller that gave up — no door opens late.
    public static let deadline = "Gatehouse-Deadline"
}
