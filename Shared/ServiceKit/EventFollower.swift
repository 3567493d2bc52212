public import GatehouseNATS
public import Logging
public import ServiceLifecycle

/// Follows events through a durable JetStream pull consumer, at least once: each message is applied,
/// then acknowledged; an undecodable one is terminated (it would never apply); any other failure is
/// redelivered after a growing back-off. The consumer is (re)created with the configuration given,
/// so the service survives NATS restarts. Identity's device presence and access's reaction to
/// identity's events run on it.
public struct EventFollower: Service {
    let nats: NATSClient
    let stream: String
    let configuration: ConsumerConfiguration
    let logger: Logger
    let apply: @Sendable (JetStreamMessage) async throws -> Void

    public init(
        nats: NATSClient,
        stream: String,
        configuration: ConsumerConfiguration,
        logger: Logger,
        apply: @escaping @Sendable (JetStreamMessage) async throws -> Void
    ) {
        self.nats = nats
        self.stream = stream
        self.configuration = configuration
        self.logger = logger
        self.apply = apply
    }

    public func run() async throws {
        let name = self.configuration.durableName
        var backoff = Duration.milliseconds(200)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await self.nats.jetStream.ensureConsumer(stream: self.stream, self.configuration)
                let consumer = try await self.nats.jetStream.pullConsumer(stream: self.stream, durable: name)
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let batch: [JetStreamMessage]
                    do {
                        batch = try await consumer.fetch(batch: 100, timeout: .seconds(1))
                    } catch let error as NATSError where error.code == .timeout {
                        continue
                    }
                    for message in batch {
                        do {
                            try await self.apply(message)
                            try? message.ack()
                            backoff = .milliseconds(200)
                        } catch is DecodingError {
                            self.logger.notice(
                                "undecodable event dropped",
                                metadata: ["gatehouse.consumer": "\(name)", "gatehouse.subject": "\(message.subject)"]
                            )
                            try? message.term()
                        } catch {
                            self.logger.warning(
                                "event not applied; it will be redelivered",
                                metadata: [
                                    "gatehouse.consumer": "\(name)", "gatehouse.subject": "\(message.subject)",
                                    "error.type": "\(String(reflecting: error))",
                                ]
                            )
                            try? message.nak(delay: backoff)
                            backoff = min(backoff * 2, .seconds(10))
                        }
                    }
                }
            } catch {
                self.logger.warning("events unavailable; retrying", metadata: ["gatehouse.consumer": "\(name)", "error.type": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }
}
