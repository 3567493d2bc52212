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
        hash: [UInt8]
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
    }

    /// The hash before the first record of every tenant: 32 zero bytes.
    package static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical bytes of a record (docs/audit.md): each field as a 4-byte big-endian length and
    /// its UTF-8 bytes, in this order: format tag `gatehouse.audit.v1`, tenant id, sequence (decimal),
    /// event id, type, source, subject (empty when absent), NATS subject, occurred-at (ISO 8601 UTC with
    /// milliseconds), and the SHA-256 of the raw event bytes (lower-case hex).
    package func canonicalBytes() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        func field(_ text: String) {
            let utf8 = Array(text.utf8)
            let count = UInt32(utf8.count)
            bytes.append(contentsOf: [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)])
            bytes.append(contentsOf: utf8)
        }
        field("gatehouse.audit.v1")
        field(self.tenant.description)
        field(String(self.sequence))
        field(self.eventID.lowercasedString)
        field(self.eventType)
        field(self.source)
        field(self.subject ?? "")
        field(self.natsSubject)
        field(WireCoding.format(self.occurredAt))
        field(hex(self.rawDigest))
        return bytes
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
