import Crypto
package import Foundation
package import GatehouseWire

/// A signed statement that a tenant's chain had `headHash` at `sequence`, and that the records
/// `fromSequence…sequence` have `merkleRoot`. Published as an event, so a third party holding the
/// checkpoints (and the public key) can prove later that history was not rewritten.
package struct Checkpoint: Sendable, Hashable {
    package var tenant: TenantID
    package var fromSequence: Int64
    package var sequence: Int64
    package var headHash: [UInt8]
    package var merkleRoot: [UInt8]
    package var createdAt: Date
    package var keyID: String
    package var signature: [UInt8]

    package init(
        tenant: TenantID,
        fromSequence: Int64,
        sequence: Int64,
        headHash: [UInt8],
        merkleRoot: [UInt8],
        createdAt: Date,
        keyID: String,
        signature: [UInt8] = []
    ) {
        self.tenant = tenant
        self.fromSequence = fromSequence
        self.sequence = sequence
        self.headHash = headHash
        self.merkleRoot = merkleRoot
        self.createdAt = createdAt
        self.keyID = keyID
        self.signature = signature
    }

    /// What is signed (docs/audit.md): the UTF-8 of
    /// `gatehouse.audit.checkpoint.v1\n<tenant>\n<from>\n<sequence>\n<head hex>\n<root hex>\n<time>\n<key id>`.
    package var signedBytes: [UInt8] {
        let lines = [
            "gatehouse.audit.checkpoint.v1", self.tenant.description, String(self.fromSequence), String(self.sequence),
            hex(self.headHash), hex(self.merkleRoot), WireCoding.format(self.createdAt), self.keyID,
        ]
        return Array(lines.joined(separator: "\n").utf8)
    }

    /// The Merkle root of record hashes: leaves `SHA-256(0x00 || hash)`, nodes
    /// `SHA-256(0x01 || left || right)`, an odd node is promoted unchanged.
    package static func merkleRoot(of hashes: [[UInt8]]) -> [UInt8] {
        var tree = MerkleAccumulator()
        for hash in hashes { hash.withUnsafeBytes { tree.append(leaf: $0) } }
        return tree.root()
    }
}

/// Builds a Merkle root one record hash at a time, in O(log n) memory, so a verifier streaming a
/// segment need not hold it.
///
/// Subtrees of equal height are joined as soon as both exist (a binary counter); at the end the
/// remaining ones are joined right to left. That is the same tree as pairing each level left to
/// right and carrying an odd node up unchanged (docs/audit.md).
package struct MerkleAccumulator: Sendable {
    /// Complete subtrees, heights strictly decreasing.
    private var stack: [(height: Int, digest: SHA256Digest)] = []
    /// Leaves appended.
    package private(set) var count: Int64 = 0

    package init() {}

    package mutating func append(leaf hash: UnsafeRawBufferPointer) {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0x00)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: hash)
        var node = (height: 0, digest: hasher.finalize())
        while let last = self.stack.last, last.height == node.height {
            self.stack.removeLast()
            node = (node.height + 1, Self.join(last.digest, node.digest))
        }
        self.stack.append(node)
        self.count += 1
    }

    /// The root of the leaves so far (SHA-256 of nothing when there are none).
    package func root() -> [UInt8] {
        guard var digest = self.stack.last?.digest else { return Array(SHA256.hash(data: [UInt8]())) }
        for index in stride(from: self.stack.count - 2, through: 0, by: -1) {
            digest = Self.join(self.stack[index].digest, digest)
        }
        return Array(digest)
    }

    private static func join(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0x01)) { hasher.update(bufferPointer: $0) }
        left.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        right.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }
}

/// Signs checkpoints with an Ed25519 key.
package struct CheckpointSigner: Sendable {
    let key: Curve25519.Signing.PrivateKey
    /// The first 16 hex digits of SHA-256 of the public key.
    package let keyID: String

    /// `rawKey`: the 32-byte Ed25519 seed; a new random key when `nil`.
    package init(rawKey: [UInt8]? = nil) throws {
        self.key = try rawKey.map { try Curve25519.Signing.PrivateKey(rawRepresentation: $0) } ?? Curve25519.Signing.PrivateKey()
        self.keyID = String(hex(Array(SHA256.hash(data: self.key.publicKey.rawRepresentation))).prefix(16))
    }

    package var publicKey: [UInt8] { Array(self.key.publicKey.rawRepresentation) }

    package func sign(_ checkpoint: Checkpoint) throws -> Checkpoint {
        var signed = checkpoint
        signed.keyID = self.keyID
        signed.signature = Array(try self.key.signature(for: signed.signedBytes))
        return signed
    }

    /// True when `checkpoint` carries a valid signature by `publicKey`.
    package static func isValid(_ checkpoint: Checkpoint, publicKey: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
        return key.isValidSignature(checkpoint.signature, for: checkpoint.signedBytes)
    }
}
