public import Foundation

/// The CloudEvents `type`, NATS subject and schema of one event: `io.gatehouse.<domain>.<name>.v<version>`.
public struct EventType: Hashable, Sendable, CustomStringConvertible {
    /// The area the event belongs to: `access`, `call`, `identity`, `signaling`, `system`…
    public var domain: String
    /// What happened, in the past tense, as one subject token in lower snake case
    /// (`door_unlocked`, `decision_made`, `service_started`).
    public var name: String
    public var version: Int

    public init(domain: String, name: String, version: Int = 1) {
        precondition(Subjects.isValidToken(domain) && Subjects.isValidToken(name) && version >= 1)
        self.domain = domain
        self.name = name
        self.version = version
    }

    /// The CloudEvents `type` attribute.
    public var type: String { "io.gatehouse.\(self.domain).\(self.name).v\(self.version)" }

    public var description: String { self.type }
}

/// The payload of an event. Each conforming type names its ``EventType`` once.
///
/// Fields are only ever added; a breaking change is a new type with `version` 2 (and so a new
/// CloudEvents type and subject). See `docs/events.md`.
public protocol GatehouseEventData: Codable, Sendable, Hashable {
    static var eventType: EventType { get }
}

/// Who, what and where an event is about, as CloudEvents extension attributes beside `tenantid`:
/// `siteid`, `buildingid`, `doorid`, `unitid`, `personid`, `callid`, `passid` (lower-case UUIDs),
/// `outcome` (`granted`, `denied`, `answered`, `failed`…) and `reason` (a fixed vocabulary per
/// domain, e.g. access control's decision reasons). Every attribute is optional; producers set the
/// ones that apply. The audit log indexes them, and `personid` names the person whose personal data
/// the event carries (the audit log encrypts the event under that person's key: docs/audit.md).
public struct EventContext: Codable, Sendable, Hashable {
    public var siteid: UUID?
    public var buildingid: UUID?
    public var doorid: UUID?
    public var unitid: UUID?
    public var personid: UUID?
    public var callid: UUID?
    public var passid: UUID?
    public var outcome: String?
    public var reason: String?

    public init(
        site: UUID? = nil,
        building: UUID? = nil,
        door: UUID? = nil,
        unit: UUID? = nil,
        person: UUID? = nil,
        call: UUID? = nil,
        pass: UUID? = nil,
        outcome: String? = nil,
        reason: String? = nil
    ) {
        self.siteid = site
        self.buildingid = building
        self.doorid = door
        self.unitid = unit
        self.personid = person
        self.callid = call
        self.passid = pass
        self.outcome = outcome
        self.reason = reason
    }

    /// Longest `outcome` or `reason` accepted (they are vocabulary words, not text).
    public static let maxWordLength = 64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case siteid, buildingid, doorid, unitid, personid, callid, passid, outcome, reason
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        for (key, id) in [
            (CodingKeys.siteid, self.siteid), (.buildingid, self.buildingid), (.doorid, self.doorid),
            (.unitid, self.unitid), (.personid, self.personid), (.callid, self.callid), (.passid, self.passid),
        ] {
            try container.encodeIfPresent(id?.lowercasedString, forKey: key)
        }
        try container.encodeIfPresent(self.outcome, forKey: .outcome)
        try container.encodeIfPresent(self.reason, forKey: .reason)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.siteid = try container.decodeIfPresent(UUID.self, forKey: .siteid)
        self.buildingid = try container.decodeIfPresent(UUID.self, forKey: .buildingid)
        self.doorid = try container.decodeIfPresent(UUID.self, forKey: .doorid)
        self.unitid = try container.decodeIfPresent(UUID.self, forKey: .unitid)
        self.personid = try container.decodeIfPresent(UUID.self, forKey: .personid)
        self.callid = try container.decodeIfPresent(UUID.self, forKey: .callid)
        self.passid = try container.decodeIfPresent(UUID.self, forKey: .passid)
        self.outcome = try container.decodeIfPresent(String.self, forKey: .outcome)
        self.reason = try container.decodeIfPresent(String.self, forKey: .reason)
        for (key, word) in [(CodingKeys.outcome, self.outcome), (.reason, self.reason)] {
            if let word, word.isEmpty || word.utf8.count > Self.maxWordLength {
                throw DecodingError.dataCorruptedError(
                    forKey: key,
                    in: container,
                    debugDescription: "must be 1…\(Self.maxWordLength) bytes"
                )
            }
        }
    }
}

/// An event in the CloudEvents 1.0 JSON structured format, with Gatehouse's extensions `tenantid`,
/// `traceparent` and the ``EventContext`` attributes.
public struct CloudEvent<Payload: GatehouseEventData>: Codable, Sendable, Hashable {
    public var specversion: String
    /// A UUID; also the JetStream `Nats-Msg-Id`, so a republished event is stored once.
    public var id: UUID
    /// `gatehouse/<service>/<instance>`.
    public var source: String
    public var type: String
    public var time: Date
    /// What the event is about, within the source: `door/<id>`, `call/<id>`, `service/<name>`.
    public var subject: String?
    public var datacontenttype: String
    /// The tenant the event belongs to; always equal to the tenant token of its NATS subject.
    public var tenantid: TenantID
    /// W3C trace context of the work that caused the event, if any.
    public var traceparent: String?
    /// The `siteid`, `doorid`, `personid`… attributes.
    public var context: EventContext
    public var data: Payload

    public init(
        id: UUID = UUID(),
        source: EventSource,
        time: Date = Date(),
        subject: String? = nil,
        tenant: TenantID,
        traceparent: String? = nil,
        context: EventContext = EventContext(),
        data: Payload
    ) {
        self.specversion = "1.0"
        self.id = id
        self.source = source.description
        self.type = Payload.eventType.type
        self.time = time
        self.subject = subject
        self.datacontenttype = "application/json"
        self.tenantid = tenant
        self.traceparent = traceparent
        self.context = context
        self.data = data
    }

    /// The NATS subject this event is published on.
    public var natsSubject: String { Subjects.event(Payload.eventType, tenant: self.tenantid) }

    /// The attributes without the payload.
    public var header: CloudEventHeader {
        CloudEventHeader(
            specversion: self.specversion,
            id: self.id,
            source: self.source,
            type: self.type,
            time: self.time,
            subject: self.subject,
            datacontenttype: self.datacontenttype,
            tenantid: self.tenantid,
            traceparent: self.traceparent,
            context: self.context
        )
    }

    public func encode(to encoder: any Encoder) throws {
        try self.header.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.data, forKey: .data)
    }

    public init(from decoder: any Decoder) throws {
        let header = try CloudEventHeader(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard header.specversion == "1.0" else {
            throw DecodingError.dataCorruptedError(forKey: .data, in: container, debugDescription: "unsupported CloudEvents specversion")
        }
        guard header.type == Payload.eventType.type else {
            throw DecodingError.dataCorruptedError(forKey: .data, in: container, debugDescription: "expected type \(Payload.eventType.type)")
        }
        guard let contentType = header.datacontenttype else {
            throw DecodingError.keyNotFound(
                CloudEventHeader.CodingKeys.datacontenttype,
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "datacontenttype is required")
            )
        }
        self.specversion = header.specversion
        self.id = header.id
        self.source = header.source
        self.type = header.type
        self.time = header.time
        self.subject = header.subject
        self.datacontenttype = contentType
        self.tenantid = header.tenantid
        self.traceparent = header.traceparent
        self.context = header.context
        self.data = try container.decode(Payload.self, forKey: .data)
    }

    enum CodingKeys: String, CodingKey {
        case data
    }
}

/// The attributes every event has, whatever its payload: enough to route, audit or quarantine an
/// event without knowing its type.
public struct CloudEventHeader: Codable, Sendable, Hashable {
    public var specversion: String
    public var id: UUID
    public var source: String
    public var type: String
    public var time: Date
    public var subject: String?
    public var datacontenttype: String?
    public var tenantid: TenantID
    public var traceparent: String?
    public var context: EventContext

    init(
        specversion: String,
        id: UUID,
        source: String,
        type: String,
        time: Date,
        subject: String?,
        datacontenttype: String?,
        tenantid: TenantID,
        traceparent: String?,
        context: EventContext
    ) {
        self.specversion = specversion
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.subject = subject
        self.datacontenttype = datacontenttype
        self.tenantid = tenantid
        self.traceparent = traceparent
        self.context = context
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.specversion = try container.decode(String.self, forKey: .specversion)
        self.id = try container.decode(UUID.self, forKey: .id)
        self.source = try container.decode(String.self, forKey: .source)
        self.type = try container.decode(String.self, forKey: .type)
        self.time = try container.decode(Date.self, forKey: .time)
        self.subject = try container.decodeIfPresent(String.self, forKey: .subject)
        self.datacontenttype = try container.decodeIfPresent(String.self, forKey: .datacontenttype)
        self.tenantid = try container.decode(TenantID.self, forKey: .tenantid)
        self.traceparent = try container.decodeIfPresent(String.self, forKey: .traceparent)
        self.context = try EventContext(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.specversion, forKey: .specversion)
        try container.encode(self.id.lowercasedString, forKey: .id)
        try container.encode(self.source, forKey: .source)
        try container.encode(self.type, forKey: .type)
        try container.encode(self.time, forKey: .time)
        try container.encodeIfPresent(self.subject, forKey: .subject)
        try container.encodeIfPresent(self.datacontenttype, forKey: .datacontenttype)
        try container.encode(self.tenantid, forKey: .tenantid)
        try container.encodeIfPresent(self.traceparent, forKey: .traceparent)
        try self.context.encode(to: encoder)
    }

    enum CodingKeys: String, CodingKey {
        case specversion, id, source, type, time, subject, datacontenttype, tenantid, traceparent
    }
}

/// The `source` of events a service instance emits: `gatehouse/<service>/<instance>`.
public struct EventSource: Hashable, Sendable, CustomStringConvertible {
    public var service: ServiceName
    public var instance: String

    public init(service: ServiceName, instance: String) {
        self.service = service
        self.instance = instance
    }

    public var description: String { "gatehouse/\(self.service)/\(self.instance)" }
}
