import Crypto

/// One stored record as PostgreSQL sends a whole row (`SELECT r FROM records r`) in binary: the
/// column count, then per column its type OID, its length (-1 for NULL) and its bytes. Read in place,
/// without copying a field or building an ``AuditRecord``: the verifier assembles the canonical bytes
/// straight from it (``CanonicalEncoder``, the same code the writer hashes with).
///
/// A whole row costs PostgreSQL less than `ROW(<columns>)` (no new tuple is formed) and this side
/// one cell per record instead of one per column. Its columns come in table order, so the verifier
/// first checks that the table has exactly ``layout`` (``ChainVerifier``), and every row's OIDs.
struct StoredRecord: CanonicalSource {
    /// `audit.records`' columns in table order, with their type OIDs.
    static let layout: [(name: String, type: UInt32)] = {
        let (int8, bytea, int2, uuid, text, timestamptz, bool): (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
            20, 17, 21, 2950, 25, 1184, 16
        )
        return [
            ("tenant_id", uuid), ("seq", int8), ("event_id", uuid), ("event_type", text), ("source", text), ("subject", text),
            ("nats_subject", text), ("occurred_at", timestamptz), ("recorded_at", timestamptz), ("stream_seq", int8), ("raw", bytea),
            ("prev_hash", bytea), ("hash", bytea), ("format", int2), ("site_id", uuid), ("building_id", uuid), ("door_id", uuid),
            ("unit_id", uuid), ("person_id", uuid), ("call_id", uuid), ("pass_id", uuid), ("outcome", text), ("reason", text),
            ("sealed", bool),
        ]
    }()

    /// Every column, in table order (benchmarks read the same, without hashing).
    static let columns = layout.map(\.name).joined(separator: ", ")

    /// Positions in ``layout``.
    enum Column {
        static let tenant = 0, sequence = 1, eventID = 2, eventType = 3, source = 4, subject = 5, natsSubject = 6
        static let occurredAt = 7, raw = 10, previousHash = 11, hash = 12, format = 13
        static let site = 14, building = 15, door = 16, unit = 17, person = 18, call = 19, pass = 20
        static let outcome = 21, reason = 22, sealed = 23
    }

    /// A field's place in ``bytes``; `count` -1 is NULL.
    typealias Field = (offset: Int, count: Int)

    let bytes: UnsafeRawBufferPointer
    /// One per column, in ``columns`` order; owned by the caller and reused for every row.
    let fields: UnsafeMutableBufferPointer<Field>
    let sequence: Int64
    let format: Int16
    /// Milliseconds since 1970 (stored times are whole milliseconds).
    let occurredAt: Int64
    let sealed: Bool

    init(_ bytes: UnsafeRawBufferPointer, fields: UnsafeMutableBufferPointer<Field>) throws {
        precondition(fields.count == Self.layout.count)
        self.bytes = bytes
        self.fields = fields
        var offset = 0
        func int32() throws -> Int32 {
            guard offset + 4 <= bytes.count else { throw VerificationError.unexpectedColumns }
            defer { offset += 4 }
            return Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
        }
        guard try int32() == Self.layout.count else { throw VerificationError.unexpectedColumns }
        for (index, column) in Self.layout.enumerated() {
            guard UInt32(bitPattern: try int32()) == column.type else { throw VerificationError.unexpectedColumns }
            let count = Int(try int32())
            guard count <= bytes.count - offset else { throw VerificationError.unexpectedColumns }
            fields[index] = (offset, max(count, -1))
            offset += max(count, 0)
        }
        func integer<T: FixedWidthInteger>(_ index: Int, as: T.Type) throws -> T {
            let field = fields[index]
            guard field.count == MemoryLayout<T>.size else { throw VerificationError.unexpectedColumns }
            return T(bigEndian: bytes.loadUnaligned(fromByteOffset: field.offset, as: T.self))
        }
        self.sequence = try integer(Column.sequence, as: Int64.self)
        self.format = try integer(Column.format, as: Int16.self)
        // timestamptz: microseconds since 2000-01-01T00:00:00Z.
        let microseconds = try integer(Column.occurredAt, as: Int64.self)
        self.occurredAt = Self.postgresEpochMilliseconds + (microseconds >= 0 ? (microseconds + 500) / 1000 : (microseconds - 500) / 1000)
        self.sealed = try integer(Column.sealed, as: UInt8.self) != 0
    }

    static let postgresEpochMilliseconds: Int64 = 946_684_800_000

    /// Column `index`'s bytes; nil for NULL.
    func field(_ index: Int) -> UnsafeRawBufferPointer? {
        let field = self.fields[index]
        guard field.count >= 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: self.bytes[field.offset..<field.offset + field.count])
    }

    var previousHash: UnsafeRawBufferPointer { self.field(Column.previousHash) ?? UnsafeRawBufferPointer(start: nil, count: 0) }
    var hash: UnsafeRawBufferPointer { self.field(Column.hash) ?? UnsafeRawBufferPointer(start: nil, count: 0) }

    func write(_ field: CanonicalField, to encoder: inout CanonicalEncoder) {
        func text(_ index: Int) { self.field(index).map { encoder.raw($0) } }
        func uuid(_ index: Int) { self.field(index).map { encoder.hex($0, uuid: true) } }
        switch field {
        case .tenant: uuid(Column.tenant)
        case .sequence: encoder.decimal(self.sequence)
        case .eventID: uuid(Column.eventID)
        case .eventType: text(Column.eventType)
        case .source: text(Column.source)
        case .subject: text(Column.subject)
        case .natsSubject: text(Column.natsSubject)
        case .occurredAt: encoder.timestamp(milliseconds: self.occurredAt)
        case .site: uuid(Column.site)
        case .building: uuid(Column.building)
        case .door: uuid(Column.door)
        case .unit: uuid(Column.unit)
        case .person: uuid(Column.person)
        case .call: uuid(Column.call)
        case .pass: uuid(Column.pass)
        case .outcome: text(Column.outcome)
        case .reason: text(Column.reason)
        case .sealed: encoder.text(self.sealed ? "1" : "0")
        case .rawDigest:
            // Hashed here rather than by PostgreSQL's sha256(), which costs more than the rest of the row.
            let digest = SHA256.hash(data: self.field(Column.raw) ?? UnsafeRawBufferPointer(start: nil, count: 0))
            digest.withUnsafeBytes { encoder.hex($0) }
        }
    }
}

/// The state of one range's pass: the link each record must continue, the canonical-bytes buffer,
/// and the checkpoint segments being matched.
struct RangeChecker {
    /// The first record whose link is checked (earlier ones only feed a segment).
    let from: Int64
    var expected: Int64
    var previous: [UInt8]
    var encoder = CanonicalEncoder()
    let fields = UnsafeMutableBufferPointer<StoredRecord.Field>.allocate(capacity: StoredRecord.layout.count)
    var segments: SegmentChecker
    var outcome = ChainVerifier.RangeOutcome()

    init(from: Int64, anchor: [UInt8], segments: [Checkpoint]) {
        self.from = from
        self.expected = from
        self.previous = anchor
        self.segments = SegmentChecker(segments: segments)
    }

    func deallocate() { self.fields.deallocate() }

    /// Checks the next record; false once the range has found its first bad one (and stops).
    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        let record = try StoredRecord(bytes, fields: self.fields)
        let sequence = record.sequence
        guard sequence >= self.from else {
            self.segments.add(sequence, hash: record.hash)
            return true
        }
        guard sequence == self.expected else {
            self.outcome.firstBad = (self.expected, "record \(self.expected) is missing (next stored is \(sequence))")
            return false
        }
        guard record.previousHash.elementsEqual(self.previous) else {
            self.outcome.firstBad = (sequence, "record \(sequence) does not link to record \(sequence - 1)")
            return false
        }
        self.encoder.encode(record)
        var hasher = SHA256()
        hasher.update(bufferPointer: record.previousHash)
        self.encoder.bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let hash = record.hash
        guard hasher.finalize().withUnsafeBytes({ $0.elementsEqual(hash) }) else {
            self.outcome.firstBad = (sequence, "record \(sequence) was altered (its hash does not match its content)")
            return false
        }
        self.previous.removeAll(keepingCapacity: true)
        self.previous.append(contentsOf: hash)
        self.segments.add(sequence, hash: hash)
        self.expected += 1
        self.outcome.checked += 1
        return true
    }

    /// The outcome once every row was read (`through`: where the range should have ended).
    mutating func finish(through: Int64?) -> ChainVerifier.RangeOutcome {
        if self.outcome.firstBad == nil, let through, self.expected <= through {
            self.outcome.firstBad = (self.expected, "record \(self.expected) is missing")
        }
        self.segments.finish()
        self.outcome.firstBadCheckpoint = self.segments.firstBad
        return self.outcome
    }
}

/// Matches checkpoint segments against the record hashes going by, in order: each segment's record
/// count, head hash and Merkle root.
struct SegmentChecker {
    let segments: [Checkpoint]
    var index = 0
    var tree = MerkleAccumulator()
    var firstBad: (sequence: Int64, problem: String)?

    init(segments: [Checkpoint]) { self.segments = segments }

    mutating func add(_ sequence: Int64, hash: UnsafeRawBufferPointer) {
        while self.index < self.segments.count, sequence > self.segments[self.index].sequence {
            self.fail()  // passed its end without reaching it: a record is missing
        }
        guard self.index < self.segments.count else { return }
        let segment = self.segments[self.index]
        guard sequence >= segment.fromSequence else { return }
        self.tree.append(leaf: hash)
        guard sequence == segment.sequence else { return }
        if self.tree.count == segment.sequence - segment.fromSequence + 1, hash.elementsEqual(segment.headHash),
            self.tree.root() == segment.merkleRoot
        {
            self.next()
        } else {
            self.fail()
        }
    }

    /// Segments not completed by the records read do not match them.
    mutating func finish() {
        while self.index < self.segments.count { self.fail() }
    }

    private mutating func fail() {
        if self.firstBad == nil {
            let sequence = self.segments[self.index].sequence
            self.firstBad = (sequence, "checkpoint at \(sequence) does not match the records it signs")
        }
        self.next()
    }

    private mutating func next() {
        self.index += 1
        self.tree = MerkleAccumulator()
    }
}
