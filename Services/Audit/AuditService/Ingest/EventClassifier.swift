package import Foundation
package import GatehouseWire

/// A message from the events stream, ready to be chained, or the reason it goes to quarantine.
package enum Classified: Sendable, Hashable {
    case event(IncomingEvent)
    case quarantine(QuarantinedMessage)
}

/// A valid event before it gets its place in the chain.
package struct IncomingEvent: Sendable, Hashable {
    package var tenant: TenantID
    package var eventID: UUID
    package var eventType: String
    package var source: String
    package var subject: String?
    package var natsSubject: String
    package var occurredAt: Date
    package var raw: [UInt8]
    package var streamSequence: UInt64
    package var context = EventContext()

    /// Erasure events are kept readable: they carry only the (pseudonymous) person id.
    package var isSealable: Bool { self.context.personid != nil && self.eventType != PersonErased.eventType.type }
}

/// A message that is not a valid event, kept with its bytes and why.
package struct QuarantinedMessage: Sendable, Hashable {
    package enum Reason: String, Sendable, Hashable, CaseIterable {
        case oversized = "oversized"
        case notAnEventSubject = "not_an_event_subject"
        case malformed = "malformed"
        case unknownType = "unknown_type"
        case typeSubjectMismatch = "type_subject_mismatch"
        case tenantMismatch = "tenant_mismatch"
    }

    package var reason: Reason
    package var detail: String
    package var natsSubject: String
    package var raw: [UInt8]
    package var streamSequence: UInt64
    /// For a tenant mismatch: the `tenantid` the event claimed.
    package var claimedTenant: String?
}

/// Decides, without I/O, whether a message is an event the audit log records.
package struct EventClassifier: Sendable {
    /// Larger messages are quarantined (the stream refuses more than 1 MiB anyway).
    package var maxEventBytes = 1_048_576
    package var isKnownType: @Sendable (String) -> Bool = { EventCatalog.contains(type: $0) }

    package init() {}

    package func classify(natsSubject: String, payload: [UInt8], streamSequence: UInt64) -> Classified {
        func quarantine(_ reason: QuarantinedMessage.Reason, _ detail: String, claimed: String? = nil) -> Classified {
            .quarantine(
                QuarantinedMessage(
                    reason: reason,
                    detail: detail,
                    natsSubject: natsSubject,
                    raw: payload,
                    streamSequence: streamSequence,
                    claimedTenant: claimed
                )
            )
        }
        guard payload.count <= self.maxEventBytes else {
            return quarantine(.oversized, "\(payload.count) bytes > \(self.maxEventBytes)")
        }
        guard let route = Subjects.parseEvent(natsSubject) else {
            return quarantine(.notAnEventSubject, "subject is not gatehouse.v1.evt.<tenant>.<domain>.<event>")
        }
        let header: CloudEventHeader
        do {
            header = try WireCoding.decode(CloudEventHeader.self, from: Data(payload))
        } catch {
            // A tenant mismatch is worth knowing even when the rest is malformed.
            return quarantine(.malformed, "not a CloudEvents 1.0 JSON event: \(String(describing: error).prefix(200))")
        }
        guard header.specversion == "1.0" else { return quarantine(.malformed, "specversion \(header.specversion.prefix(20))") }
        guard header.tenantid == route.tenant else {
            return quarantine(.tenantMismatch, "tenantid \(header.tenantid) on a subject of \(route.tenant)", claimed: header.tenantid.description)
        }
        guard self.isKnownType(header.type) else { return quarantine(.unknownType, "type \(header.type.prefix(120))") }
        let expected = EventType(domain: route.domain, name: route.name, version: route.version).type
        guard header.type == expected else { return quarantine(.typeSubjectMismatch, "type \(header.type) on a subject for \(expected)") }
        return .event(
            IncomingEvent(
                tenant: route.tenant,
                eventID: header.id,
                eventType: header.type,
                source: header.source,
                subject: header.subject,
                natsSubject: natsSubject,
                occurredAt: header.time,
                raw: payload,
                streamSequence: streamSequence,
                context: header.context
            )
        )
    }
}
