import Crypto

/// One stored record as a row of the verifier's binary COPY stream (``CopyTuple``): the columns of
/// ``layout``, in that order. Read in place, without copying a field or building an
/// ``AuditRecord``: the verifier assembles the canonical bytes straight from it
/// (``CanonicalEncoder``, the same code the writer hashes with).
struct StoredRecord: CanonicalSource {
    /// The columns read, in this order, with their types as PostgreSQL names them (the verifier checks
    /// the table has them before it reads: a binary COPY stream carries no types).
    static let layout: [(name: String, type: String)] = [
        ("seq", "bigint"), ("prev_hash", "bytea"), ("hash", "bytea"), ("format", "smallint"), ("tenant_id", "uuid"),
        ("event_id", "uuid"), ("event_type", "text"), ("source", "text"), ("subject", "text"), ("nats_subject", "text"),
        ("occurred_at", "timestamp with time zone"), ("site_id", "uuid"), ("building_id", "uuid"), ("door_id", "uuid"),
        ("unit_id", "uuid"), ("person_id", "uuid"), ("call_id", "uuid"), ("pass_id", "uuid"), ("outcome", "text"),
        ("reason", "text"), ("sealed", "boolean"), ("raw", "bytea"),
    ]

    /// The columns read, as a select list (benchmarks read the same, without hashing).
    static let columns = layout.map(\.name).joined(separator: ", ")

    /// Positions in ``layout``.
    enum Column {
        static let sequence = 0, previousHash = 1, hash = 2, format = 3, tenant = 4, eventID = 5, eventType = 6, source = 7
        static let subject = 8, natsSubject = 9, occurredAt = 10, site = 11, building = 12, door = 13, unit = 14
        static let person = 15, call = 16, pass = 17, outcome = 18, reason = 19, sealed = 20, raw = 21
    }

    let tuple: CopyTuple
    let sequence: Int64
    let format: Int16
    /// Milliseconds since 1970 (stored times are whole milliseconds).
    let occurredAt: Int64
    let sealed: Bool

    init(_ tuple: CopyTuple) throws {
        guard tuple.fields.count == Self.layout.count else { throw VerificationError.unexpectedColumns }
        self.tuple = tuple
        func integer<T: FixedWidthInteger>(_ index: Int, as: T.Type) throws -> T {
            guard let bytes = tuple.field(index), bytes.count == MemoryLayout<T>.size else { throw VerificationError.unexpectedColumns }
            return T(bigEndian: bytes.loadUnaligned(as: T.self))
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
    func field(_ index: Int) -> UnsafeRawBufferPointer? { self.tuple.field(index) }

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
    var segments: SegmentChecker
    var outcome = ChainVerifier.RangeOutcome()

    init(from: Int64, anchor: [UInt8], segments: [Checkpoint]) {
        self.from = from
        self.expected = from
        self.previous = anchor
        self.segments = SegmentChecker(segments: segments)
    }

    /// Checks the next record; false once the range has found its first bad one (and stops).
    mutating func consume(_ tuple: CopyTuple) throws -> Bool {
        let record = try StoredRecord(tuple)
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
