import Crypto
package import Foundation
package import GatehouseWire

/// One audited event as stored: the columns that identify it, the bytes received, and its link in
/// the tenant's hash chain.
package struct AuditRecord: Sendable, Hashable {
    package var tenant: TenantID
    /// Position in the tenant's chain, from 1, without gaps.
    package var sequence: Int64
    package var eventID: UUID
    package var eventType: String
    package var source: String
    package var subject: String?
    package var natsSubject: String
    package var occurredAt: Date
    /// SHA-256 of the event exactly as received (the raw bytes are stored beside the record; the
    /// chain covers them through this digest, which PostgreSQL can compute during verification).
    package var rawDigest: [UInt8]
    package var previousHash: [UInt8]
    package var hash: [UInt8]
    /// The canonical form's version: 1 (records written before the context columns) or 2.
    package var format: Int16
    /// Who, what and where (the event's context attributes), as indexed columns.
    package var context: EventContext
    /// Whether the stored bytes are the event encrypted under `context.personid`'s key.
    package var sealed: Bool

    /// The canonical form written now.
    package static let currentFormat: Int16 = 2

    package init(
        tenant: TenantID,
        sequence: Int64,
        eventID: UUID,
        eventType: String,
        source: String,
        subject: String?,
        natsSubject: String,
        occurredAt: Date,
        rawDigest: [UInt8],
        previousHash: [UInt8],
        hash: [UInt8],
        format: Int16 = AuditRecord.currentFormat,
        context: EventContext = EventContext(),
        sealed: Bool = false
    ) {
        self.tenant = tenant
        self.sequence = sequence
        self.eventID = eventID
        self.eventType = eventType
        self.source = source
        self.subject = subject
        self.natsSubject = natsSubject
        self.occurredAt = occurredAt
        self.rawDigest = rawDigest
        self.previousHash = previousHash
        self.hash = hash
        self.format = format
        self.context = context
        self.sealed = sealed
    }

    /// The hash before the first record of every tenant: 32 zero bytes.
    package static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical bytes of a record (docs/audit.md): see ``CanonicalField``.
    package func canonicalBytes() -> [UInt8] {
        var encoder = CanonicalEncoder()
        encoder.encode(self)
        return encoder.bytes
    }

    /// SHA-256 of raw event bytes.
    package static func digest(_ raw: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: raw)) }

    /// `SHA-256(previousHash || canonicalBytes)`.
    package func computeHash() -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: self.previousHash)
        hasher.update(data: self.canonicalBytes())
        return Array(hasher.finalize())
    }
}

/// The fields of a record's canonical bytes, in order (docs/audit.md). Each is written as a 4-byte
/// big-endian length and its UTF-8 bytes: first the format tag `gatehouse.audit.v<format>`, then
/// tenant id, sequence (decimal), event id, type, source, subject (empty when absent), NATS
/// subject, occurred-at (ISO 8601 UTC with milliseconds); format 2 adds the site, building, door,
/// unit, person, call and pass ids, outcome and reason (each empty when absent) and `1`/`0` for
/// sealed; last, the SHA-256 of the stored event bytes (lower-case hex). Ids are lower-case UUIDs.
package enum CanonicalField: CaseIterable, Sendable {
    case tenant, sequence, eventID, eventType, source, subject, natsSubject, occurredAt
    case site, building, door, unit, person, call, pass, outcome, reason, sealed
    case rawDigest

    static let format1: [CanonicalField] = [.tenant, .sequence, .eventID, .eventType, .source, .subject, .natsSubject, .occurredAt, .rawDigest]
    static let format2: [CanonicalField] = allCases

    static func fields(format: Int16) -> [CanonicalField] { format >= 2 ? self.format2 : self.format1 }
}

/// Something that can write each canonical field: a record in memory, or a row being verified.
package protocol CanonicalSource {
    var format: Int16 { get }
    func write(_ field: CanonicalField, to encoder: inout CanonicalEncoder)
}

/// Appends length-prefixed fields to a reusable buffer.
package struct CanonicalEncoder {
    package var bytes: [UInt8] = []

    package init() { self.bytes.reserveCapacity(512) }

    /// The canonical bytes of `source`, replacing what the buffer held.
    package mutating func encode(_ source: some CanonicalSource) {
        self.bytes.removeAll(keepingCapacity: true)
        switch source.format {
        case 1: self.bytes.append(contentsOf: Self.tag1)
        case 2: self.bytes.append(contentsOf: Self.tag2)
        default: self.bytes.append(contentsOf: Self.tag(format: source.format))
        }
        for field in CanonicalField.fields(format: source.format) {
            let start = self.bytes.count
            self.bytes.append(contentsOf: repeatElement(0, count: 4))  // the length, filled in below
            source.write(field, to: &self)
            let count = UInt32(self.bytes.count - start - 4)
            self.bytes.withUnsafeMutableBytes { $0.storeBytes(of: count.bigEndian, toByteOffset: start, as: UInt32.self) }
        }
    }

    /// The first field, `gatehouse.audit.v<format>` with its length.
    static func tag(format: Int16) -> [UInt8] {
        let text = Array("gatehouse.audit.v\(format)".utf8)
        return withUnsafeBytes(of: UInt32(text.count).bigEndian, Array.init) + text
    }

    static let tag1 = tag(format: 1)
    static let tag2 = tag(format: 2)

    package mutating func text(_ text: String) { self.bytes.append(contentsOf: text.utf8) }

    package mutating func raw(_ bytes: UnsafeRawBufferPointer) { self.bytes.append(contentsOf: bytes) }

    /// `value` in decimal ASCII, without building a String.
    package mutating func decimal(_ value: Int64) {
        if value < 0 { self.bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = self.bytes.count
        repeat {
            self.bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        self.bytes[start...].reverse()
    }

    package mutating func timestamp(milliseconds: Int64) { WireCoding.appendTimestamp(milliseconds: milliseconds, to: &self.bytes) }

    /// Lower-case hex of `bytes`; with `uuid`, in the 8-4-4-4-12 layout.
    package mutating func hex(_ bytes: UnsafeRawBufferPointer, uuid: Bool = false) {
        let dashes = uuid ? [4, 6, 8, 10].lazy.filter { $0 < bytes.count }.count : 0
        let start = self.bytes.count
        // Written in place: the verifier encodes eight ids per record.
        self.bytes.append(contentsOf: repeatElement(0, count: bytes.count * 2 + dashes))
        self.bytes.withUnsafeMutableBufferPointer { output in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { digits in
                var position = start
                for (index, byte) in bytes.enumerated() {
                    if uuid && (index == 4 || index == 6 || index == 8 || index == 10) {
                        output[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    output[position] = digits[Int(byte >> 4)]
                    output[position + 1] = digits[Int(byte & 0x0F)]
                    position += 2
                }
            }
        }
    }

    package mutating func uuid(_ id: UUID?) {
        guard let id else { return }
        withUnsafeBytes(of: id.uuid) { self.hex($0, uuid: true) }
    }
}

extension AuditRecord: CanonicalSource {
    package func write(_ field: CanonicalField, to encoder: inout CanonicalEncoder) {
        switch field {
        case .tenant: encoder.uuid(self.tenant.rawValue)
        case .sequence: encoder.decimal(self.sequence)
        case .eventID: encoder.uuid(self.eventID)
        case .eventType: encoder.text(self.eventType)
        case .source: encoder.text(self.source)
        case .subject: encoder.text(self.subject ?? "")
        case .natsSubject: encoder.text(self.natsSubject)
        case .occurredAt: encoder.timestamp(milliseconds: Int64((self.occurredAt.timeIntervalSince1970 * 1000).rounded()))
        case .site: encoder.uuid(self.context.siteid)
        case .building: encoder.uuid(self.context.buildingid)
        case .door: encoder.uuid(self.context.doorid)
        case .unit: encoder.uuid(self.context.unitid)
        case .person: encoder.uuid(self.context.personid)
        case .call: encoder.uuid(self.context.callid)
        case .pass: encoder.uuid(self.context.passid)
        case .outcome: encoder.text(self.context.outcome ?? "")
        case .reason: encoder.text(self.context.reason ?? "")
        case .sealed: encoder.text(self.sealed ? "1" : "0")
        case .rawDigest: self.rawDigest.withUnsafeBytes { encoder.hex($0) }
        }
    }
}
