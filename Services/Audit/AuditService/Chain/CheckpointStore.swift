package import Foundation
package import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit

/// Creates, stores and reads signed checkpoints.
package struct CheckpointStore: Sendable {
    let client: PostgresClient
    let schema: String
    let signer: CheckpointSigner

    package init(client: PostgresClient, schema: String = AuditService.schema, signer: CheckpointSigner) {
        self.client = client
        self.schema = schema
        self.signer = signer
    }

    /// Records the signer's public key, so verifiers can check its checkpoints.
    package func registerKey(logger: Logger) async throws {
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: "INSERT INTO \(self.schema).signing_keys (key_id, public_key) VALUES ($1, decode($2, 'hex')) ON CONFLICT DO NOTHING",
                binds: PostgresBindings(self.signer.keyID, hex(self.signer.publicKey))
            ),
            logger: logger
        )
    }

    /// Checkpoints every tenant with at least `minimumNewRecords` records since its last checkpoint.
    package func createDue(minimumNewRecords: Int64, now: Date = Date(), logger: Logger) async throws -> [Checkpoint] {
        let s = self.schema
        var due: [(UUID, Int64, Int64)] = []
        for try await row in try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT h.tenant_id, h.seq, COALESCE((SELECT max(seq) FROM \(s).checkpoints c WHERE c.tenant_id = h.tenant_id), 0)
                    FROM \(s).heads h
                    WHERE h.seq - COALESCE((SELECT max(seq) FROM \(s).checkpoints c WHERE c.tenant_id = h.tenant_id), 0) >= $1
                    """,
                binds: PostgresBindings(max(minimumNewRecords, 1))
            ),
            logger: logger
        ).decode((UUID, Int64, Int64).self) {
            due.append(row)
        }
        var created: [Checkpoint] = []
        for (tenant, head, last) in due {
            var tree = MerkleAccumulator()
            var headHash: ByteBuffer?
            for try await hash in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: "SELECT hash FROM \(s).records WHERE tenant_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                    binds: PostgresBindings(tenant, last, head)
                ),
                logger: logger
            ).decode(ByteBuffer.self) {
                hash.withUnsafeReadableBytes { tree.append(leaf: $0) }
                headHash = hash
            }
            guard tree.count == head - last, let headHash else { continue }  // verification will say why
            let checkpoint = try self.signer.sign(
                Checkpoint(
                    tenant: TenantID(tenant),
                    fromSequence: last + 1,
                    sequence: head,
                    headHash: Array(buffer: headHash),
                    merkleRoot: tree.root(),
                    createdAt: WireCoding.millisecondPrecision(now),
                    keyID: self.signer.keyID
                )
            )
            var inserted = false
            for try await _ in try await self.client.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(s).checkpoints (tenant_id, seq, from_seq, head_hash, merkle_root, created_at, key_id, signature)
                        VALUES ($1, $2, $3, decode($4, 'hex'), decode($5, 'hex'), $6::timestamptz, $7, decode($8, 'hex'))
                        ON CONFLICT DO NOTHING RETURNING seq
                        """,
                    binds: PostgresBindings(
                        tenant,
                        checkpoint.sequence,
                        checkpoint.fromSequence,
                        hex(checkpoint.headHash),
                        hex(checkpoint.merkleRoot),
                        WireCoding.format(checkpoint.createdAt),
                        checkpoint.keyID,
                        hex(checkpoint.signature)
                    )
                ),
                logger: logger
            ).decode(Int64.self) {
                inserted = true
            }
            if inserted { created.append(checkpoint) }
        }
        return created
    }

    /// The tenant's signed checkpoints at or after `from`, in order, and the public keys they may be
    /// signed with. Static: reading needs no signer.
    package static func load(
        client: PostgresClient,
        schema s: String,
        tenant: TenantID,
        from: Int64,
        logger: Logger
    ) async throws -> (checkpoints: [Checkpoint], keys: [String: [UInt8]]) {
        var keys: [String: [UInt8]] = [:]
        for try await (id, key) in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT key_id, public_key FROM \(s).signing_keys"),
            logger: logger
        )
        .decode((String, ByteBuffer).self) {
            keys[id] = Array(buffer: key)
        }
        var checkpoints: [Checkpoint] = []
        for try await (seq, fromSeq, head, root, created, keyID, signature) in try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT seq, from_seq, head_hash, merkle_root, created_at, key_id, signature FROM \(s).checkpoints
                    WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq
                    """,
                binds: PostgresBindings(tenant.rawValue, from)
            ),
            logger: logger
        ).decode((Int64, Int64, ByteBuffer, ByteBuffer, Date, String, ByteBuffer).self) {
            checkpoints.append(
                Checkpoint(
                    tenant: tenant,
                    fromSequence: fromSeq,
                    sequence: seq,
                    headHash: Array(buffer: head),
                    merkleRoot: Array(buffer: root),
                    createdAt: created,
                    keyID: keyID,
                    signature: Array(buffer: signature)
                )
            )
        }
        return (checkpoints, keys)
    }

    /// The first checkpoint without a valid signature by a known key, or that does not continue where
    /// the one before it ended. (Whether each matches the records it signs is checked by
    /// ``ChainVerifier`` while it reads them.)
    package static func firstUnsigned(_ checkpoints: [Checkpoint], keys: [String: [UInt8]]) -> (sequence: Int64, problem: String)? {
        var previous: Checkpoint?
        for checkpoint in checkpoints {
            guard let key = keys[checkpoint.keyID], CheckpointSigner.isValid(checkpoint, publicKey: key) else {
                return (checkpoint.sequence, "checkpoint at \(checkpoint.sequence) has no valid signature")
            }
            if let previous, checkpoint.fromSequence != previous.sequence + 1 {
                return (checkpoint.sequence, "checkpoint at \(checkpoint.sequence) does not continue the one at \(previous.sequence)")
            }
            previous = checkpoint
        }
        return nil
    }
}
