package import Configuration
import Foundation
import GatehouseNATS
import GatehouseWire
import Logging
import Metrics
import PostgresNIO
package import ServiceKit
import ServiceLifecycle

/// Reads every event from the `GATEHOUSE_EVENTS` stream through the durable pull consumer `audit`,
/// writes each batch in one PostgreSQL transaction, and acknowledges the batch only after the
/// commit. Invalid messages go to quarantine (and are acknowledged), so they never stop ingest.
package struct AuditIngestor: Service {
    /// Settings.
    ///
    /// ## Configuration keys (under `gatehouse.`)
    /// - `audit.consumer` (string, default `audit`): the durable consumer's name.
    /// - `audit.batchSize` (int, default 1000, 1…5000): messages per fetch and transaction.
    /// - `audit.ackWaitSeconds` (int, default 30): how long the server waits for an ack before redelivering.
    /// - `audit.dataKey` (secret, required): 32 bytes in base64 that wrap the per-person keys.
    /// - `audit.retentionDays` (int, default 90, 1…3650), `audit.retentionIntervalSeconds` (default 3600).
    package struct Configuration: Sendable {
        package var consumer = "audit"
        /// What the consumer reads: every event by default (tests narrow it to one tenant).
        package var filterSubject = Subjects.allEvents
        /// Messages per fetch and transaction.
        package var batchSize = 1000
        /// How long one fetch waits for the first message.
        package var fetchWait: Duration = .milliseconds(500)
        /// Time the server waits for an ack before redelivering.
        package var ackWait: Duration = .seconds(30)
        /// A batch transaction that takes longer is abandoned (and redelivered): a PostgreSQL
        /// connection lost mid-transaction must not stall ingest.
        package var writeTimeout: Duration = .seconds(10)
        /// A tenant gets a signed checkpoint after this many new records…
        package var checkpointEvery: Int64 = 1000
        /// …or, if it has any new record, after this long.
        package var checkpointInterval: Duration = .seconds(60)
        /// The Ed25519 seed (32 bytes, base64); a new key is made at start when absent.
        package var signingKey: [UInt8]?
        /// Wraps the per-person data keys (crypto-shredding). Required in a deployment; the
        /// memberwise default is a random key, for tests only.
        package var keyring = PersonKeyring.ephemeral()
        /// Days a tenant's records are kept unless it has its own setting (`gatehouse audit retention`).
        package var retentionDays = 90
        /// How often the retention job runs.
        package var retentionInterval: Duration = .seconds(3600)

        package init() {}

        package init(config: ConfigReader) throws {
            self.consumer = config.string(forKey: "audit.consumer", default: "audit")
            self.batchSize = config.int(forKey: "audit.batchSize", default: 1000)
            self.ackWait = .seconds(config.int(forKey: "audit.ackWaitSeconds", default: 30))
            self.checkpointEvery = Int64(config.int(forKey: "audit.checkpointEvery", default: 1000))
            self.checkpointInterval = .seconds(config.int(forKey: "audit.checkpointIntervalSeconds", default: 60))
            self.signingKey = try config.secretKey(forKey: "audit.signingKey")
            // Without it, sealed records could not be read after a restart.
            self.keyring = PersonKeyring(
                keyEncryptionKey: try config.requiredSecretKey(forKey: "audit.dataKey", environment: "GATEHOUSE_AUDIT_DATA_KEY")
            )
            self.retentionDays = config.int(forKey: "audit.retentionDays", default: 90)
            self.retentionInterval = .seconds(config.int(forKey: "audit.retentionIntervalSeconds", default: 3600))
            guard (1...3650).contains(self.retentionDays) else { throw GatehouseError.invalidConfiguration("audit.retentionDays must be 1…3650") }
            guard self.retentionInterval >= .seconds(1) else {
                throw GatehouseError.invalidConfiguration("audit.retentionIntervalSeconds must be positive")
            }
            guard self.checkpointEvery >= 1 else { throw GatehouseError.invalidConfiguration("audit.checkpointEvery must be positive") }
            guard Subjects.isValidToken(self.consumer) else {
                throw GatehouseError.invalidConfiguration("audit.consumer must be one subject token")
            }
            guard (1...5000).contains(self.batchSize) else { throw GatehouseError.invalidConfiguration("audit.batchSize must be 1…5000") }
        }

    }

    let resources: ServiceResources
    let configuration: Configuration
    let schema: String
    let classifier = EventClassifier()
    let recorded = Counter(label: "gatehouse.audit.events.recorded")
    let duplicates = Counter(label: "gatehouse.audit.events.duplicate")
    let quarantined: [QuarantinedMessage.Reason: Counter] = Dictionary(
        uniqueKeysWithValues: QuarantinedMessage.Reason.allCases.map {
            ($0, Counter(label: "gatehouse.audit.events.quarantined", dimensions: [("reason", $0.rawValue)]))
        }
    )

    package init(resources: ServiceResources, configuration: Configuration, schema: String = AuditService.schema) {
        self.resources = resources
        self.configuration = configuration
        self.schema = schema
    }

    package func run() async throws {
        let logger = self.resources.logger
        let stream = self.resources.configuration.eventStream
        let jetStream = self.resources.nats.jetStream
        try await jetStream.ensureConsumer(
            stream: stream,
            ConsumerConfiguration(
                durableName: self.configuration.consumer,
                filterSubject: self.configuration.filterSubject,
                ackWait: self.configuration.ackWait,
                maxAckPending: max(self.configuration.batchSize * 4, 2000)
            )
        )
        let consumer = try await jetStream.pullConsumer(stream: stream, durable: self.configuration.consumer)
        let writer = AuditWriter(client: self.resources.postgres, schema: self.schema, keyring: self.configuration.keyring)
        let signer = try CheckpointSigner(rawKey: self.configuration.signingKey)
        let checkpoints = CheckpointStore(client: self.resources.postgres, schema: self.schema, signer: signer)
        try await checkpoints.registerKey(logger: logger)
        if self.configuration.signingKey == nil {
            logger.notice(
                "audit: no audit.signingKey configured; signing checkpoints with a new key",
                metadata: ["gatehouse.key_id": "\(signer.keyID)"]
            )
        }
        var lastTimedCheckpoint = ContinuousClock.now
        var backoff = Duration.milliseconds(100)
        // The next batch is fetched and classified while the current one is written, so JetStream,
        // JSON decoding and PostgreSQL work at the same time; acks still follow each commit.
        let classifier = self.classifier
        let batchSize = self.configuration.batchSize
        let fetchWait = self.configuration.fetchWait
        @Sendable func fetchNext() async -> Result<(batch: [JetStreamMessage], items: [Classified]), any Error> {
            do {
                let batch = try await consumer.fetch(batch: batchSize, timeout: fetchWait)
                return .success(
                    (batch, batch.map { classifier.classify(natsSubject: $0.subject, payload: $0.payload, streamSequence: $0.streamSequence) })
                )
            } catch {
                return .failure(error)
            }
        }
        var prefetched: Result<(batch: [JetStreamMessage], items: [Classified]), any Error>?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let fetched: Result<(batch: [JetStreamMessage], items: [Classified]), any Error>
            if let prefetched {
                fetched = prefetched
            } else {
                fetched = await fetchNext()
            }
            prefetched = nil
            let batch: [JetStreamMessage]
            let items: [Classified]
            switch fetched {
            case .success(let result): (batch, items) = result
            case .failure(let error):
                logger.warning("audit fetch failed", metadata: ["error.type": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
                continue
            }
            guard !batch.isEmpty else { continue }
            logger.debug("audit batch fetched", metadata: ["gatehouse.count": "\(batch.count)"])
            async let following = fetchNext()
            do {
                let outcome = try await writer.write(items, timeout: self.configuration.writeTimeout, logger: logger)
                logger.debug("audit batch committed", metadata: ["gatehouse.recorded": "\(outcome.recorded)"])
                for message in batch { try? message.ack() }
                backoff = .milliseconds(100)
                self.recorded.increment(by: outcome.recorded)
                self.duplicates.increment(by: outcome.duplicates)
                await self.report(items, logger: logger)
                let timed = ContinuousClock.now - lastTimedCheckpoint >= self.configuration.checkpointInterval
                if timed { lastTimedCheckpoint = .now }
                await self.checkpoint(checkpoints, signer: signer, minimum: timed ? 1 : self.configuration.checkpointEvery, logger: logger)
            } catch {
                // Not acknowledged: the server redelivers after ackWait; the writer skips what is already recorded.
                logger.warning("audit batch not committed; will be redelivered", metadata: ["error.type": "\(String(reflecting: error))"])
                for message in batch { try? message.nak(delay: backoff) }
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
            prefetched = await following
        }
    }

    /// Signs due checkpoints and publishes them; a failure is retried with the next batch. Bounded by
    /// the write timeout, like the batch itself (see ``AuditWriter/write(_:timeout:logger:)``).
    private func checkpoint(_ store: CheckpointStore, signer: CheckpointSigner, minimum: Int64, logger: Logger) async {
        do {
            let created = try await abandoning(after: self.configuration.writeTimeout) {
                try await store.createDue(minimumNewRecords: minimum, logger: logger)
            }
            for checkpoint in created {
                try await self.resources.bus.publish(
                    AuditCheckpointCreated(
                        fromSequence: checkpoint.fromSequence,
                        sequence: checkpoint.sequence,
                        headHash: hex(checkpoint.headHash),
                        merkleRoot: hex(checkpoint.merkleRoot),
                        signedAt: checkpoint.createdAt,
                        keyId: checkpoint.keyID,
                        publicKey: Data(signer.publicKey).base64EncodedString(),
                        signature: Data(checkpoint.signature).base64EncodedString()
                    ),
                    tenant: checkpoint.tenant,
                    subject: "chain/\(checkpoint.sequence)"
                )
            }
        } catch {
            logger.warning("audit checkpoint not made", metadata: ["error.type": "\(String(reflecting: error))"])
        }
    }

    /// Counts quarantined messages by reason and raises tenant mismatches as security events.
    private func report(_ items: [Classified], logger: Logger) async {
        for case .quarantine(let message) in items {
            self.quarantined[message.reason]?.increment()
            logger.notice(
                "event quarantined",
                metadata: [
                    "gatehouse.subject": "\(message.natsSubject)", "gatehouse.reason": "\(message.reason.rawValue)",
                    "gatehouse.stream_seq": "\(message.streamSequence)",
                ]
            )
            if message.reason == .tenantMismatch {
                logger.warning("security: event published into another tenant's subject", metadata: ["gatehouse.subject": "\(message.natsSubject)"])
                _ = try? await self.resources.bus.publish(
                    AuditTenantMismatch(
                        natsSubject: message.natsSubject,
                        claimedTenant: message.claimedTenant ?? "",
                        streamSequence: message.streamSequence
                    ),
                    tenant: .operator,
                    subject: "stream/\(self.resources.configuration.eventStream)/\(message.streamSequence)",
                    id: Self.mismatchEventID(streamSequence: message.streamSequence)
                )
            }
        }
    }

    /// A stable id per stream message, so a redelivered mismatch is raised once.
    static func mismatchEventID(streamSequence: UInt64) -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: streamSequence.bigEndian) { for (index, byte) in $0.enumerated() { bytes[8 + index] = byte } }
        bytes[0] = 0xA0
        bytes[6] = 0x40  // version 4 layout, so it parses everywhere
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            )
        )
    }
}
