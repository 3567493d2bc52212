import AuditService
import Crypto
import Foundation
import GatehouseWire
import Testing

@Suite struct EventClassifierTests {
    let tenant = TenantID("7c0e5a4e-3f0b-4b8e-9a55-2f1d6c2b9e10")!
    let classifier = EventClassifier()

    func event(tenant: TenantID? = nil) throws -> [UInt8] {
        var event = WireSamples.serviceStarted
        event.tenantid = tenant ?? self.tenant
        return Array(try WireCoding.encode(event))
    }

    var subject: String { Subjects.event(ServiceStarted.eventType, tenant: self.tenant) }

    func reason(_ classified: Classified) -> QuarantinedMessage.Reason? {
        if case .quarantine(let message) = classified { return message.reason }
        return nil
    }

    @Test func aValidEventIsRecorded() throws {
        guard case .event(let event) = self.classifier.classify(natsSubject: self.subject, payload: try self.event(), streamSequence: 7) else {
            Issue.record("expected an event")
            return
        }
        #expect(event.tenant == self.tenant && event.streamSequence == 7)
        #expect(event.eventType == "io.gatehouse.system.service_started.v1")
    }

    @Test func everyKindOfBadMessageIsQuarantinedWithItsReason() throws {
        let other = TenantID("11111111-2222-4333-8444-555555555555")!
        #expect(self.reason(self.classifier.classify(natsSubject: self.subject, payload: Array("not json".utf8), streamSequence: 1)) == .malformed)
        #expect(
            self.reason(self.classifier.classify(natsSubject: self.subject, payload: try self.event(tenant: other), streamSequence: 2))
                == .tenantMismatch
        )
        #expect(
            self.reason(self.classifier.classify(natsSubject: "gatehouse.v1.evt.nope", payload: try self.event(), streamSequence: 3))
                == .notAnEventSubject
        )
        let wrongSubject = Subjects.event(ServiceStopping.eventType, tenant: self.tenant)
        #expect(
            self.reason(self.classifier.classify(natsSubject: wrongSubject, payload: try self.event(), streamSequence: 4)) == .typeSubjectMismatch
        )
        var unknown = String(decoding: try self.event(), as: UTF8.self)
        unknown = unknown.replacingOccurrences(of: "io.gatehouse.system.service_started.v1", with: "io.gatehouse.system.service_exploded.v1")
        let unknownSubject = self.subject.replacingOccurrences(of: "service_started", with: "service_exploded")
        #expect(self.reason(self.classifier.classify(natsSubject: unknownSubject, payload: Array(unknown.utf8), streamSequence: 5)) == .unknownType)
        var small = EventClassifier()
        small.maxEventBytes = 10
        #expect(self.reason(small.classify(natsSubject: self.subject, payload: try self.event(), streamSequence: 6)) == .oversized)
    }
}

@Suite struct AuditRecordTests {
    func record(sequence: Int64 = 1, source: String = "gatehouse/access/a-1") -> AuditRecord {
        AuditRecord(
            tenant: TenantID.operator,
            sequence: sequence,
            eventID: UUID(uuidString: "0b6c3c1e-9d7a-4f53-8a1e-5d2f0c9b7a61")!,
            eventType: "io.gatehouse.system.service_started.v1",
            source: source,
            subject: nil,
            natsSubject: "gatehouse.v1.evt.00000000-0000-0000-0000-000000000000.system.service_started",
            occurredAt: Date(timeIntervalSince1970: 1_795_000_000.125),
            rawDigest: AuditRecord.digest(Array("{}".utf8)),
            previousHash: AuditRecord.genesis,
            hash: []
        )
    }

    @Test func hashIsDeterministicAndCoversEveryField() {
        let base = self.record()
        #expect(base.computeHash() == self.record().computeHash())
        #expect(base.computeHash().count == 32)
        #expect(base.computeHash() != self.record(sequence: 2).computeHash())
        #expect(base.computeHash() != self.record(source: "gatehouse/access/a-2").computeHash())
        var raw = base
        raw.rawDigest = AuditRecord.digest(Array("{ }".utf8))
        #expect(base.computeHash() != raw.computeHash())
    }

    @Test func fieldsAreLengthPrefixedSoBoundariesCannotShift() {
        var a = self.record(source: "ab")
        a.subject = "c"
        var b = self.record(source: "a")
        b.subject = "bc"
        #expect(a.computeHash() != b.computeHash())
    }
}

@Suite struct MerkleTests {
    /// The definition in docs/audit.md, level by level: leaves `SHA-256(0x00 || hash)`, pairs
    /// `SHA-256(0x01 || left || right)`, an odd node carried up unchanged.
    func levelByLevel(_ hashes: [[UInt8]]) -> [UInt8] {
        guard !hashes.isEmpty else { return Array(SHA256.hash(data: [UInt8]())) }
        var level = hashes.map { Array(SHA256.hash(data: [0x00] + $0)) }
        while level.count > 1 {
            level = stride(from: 0, to: level.count, by: 2).map { index in
                index + 1 < level.count ? Array(SHA256.hash(data: [0x01] + level[index] + level[index + 1])) : level[index]
            }
        }
        return level[0]
    }

    @Test func theStreamingRootIsTheLevelByLevelRoot() {
        let hashes = (0..<70).map { Array(SHA256.hash(data: [UInt8($0)])) }
        for count in 0...hashes.count {
            let prefix = Array(hashes.prefix(count))
            #expect(Checkpoint.merkleRoot(of: prefix) == self.levelByLevel(prefix), "\(count) leaves")
        }
        #expect(Checkpoint.merkleRoot(of: Array(hashes.prefix(3))) != Checkpoint.merkleRoot(of: [hashes[1], hashes[0], hashes[2]]))
    }
}
