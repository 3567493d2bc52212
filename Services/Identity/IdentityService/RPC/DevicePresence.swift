import Foundation
package import GatehouseNATS
import GatehouseWire
package import Logging
package import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Keeps devices' `online` and `last_seen_at` as signaling reports them: a durable JetStream
/// consumer of `signaling.device_registered`, `device_unregistered` and `device_expired`, applied
/// in event-time order per device (an older event never overrides a newer one).
package struct DevicePresenceConsumer: Service {
    let nats: NATSClient
    let client: PostgresClient
    let stream: String
    let durable: String
    let filterSubject: String
    let schema: String
    let logger: Logger

    package init(
        nats: NATSClient,
        client: PostgresClient,
        stream: String,
        durable: String = "identity-device-presence",
        filterSubject: String = "gatehouse.v1.evt.*.signaling.>",
        schema: String = IdentityService.schema,
        logger: Logger
    ) {
        self.nats = nats
        self.client = client
        self.stream = stream
        self.durable = durable
        self.filterSubject = filterSubject
        self.schema = schema
        self.logger = logger
    }

    package func run() async throws {
        try await EventFollower(
            nats: self.nats,
            stream: self.stream,
            configuration: ConsumerConfiguration(
                durableName: self.durable,
                filterSubject: self.filterSubject,
                ackWait: .seconds(30),
                maxAckPending: 1_000
            ),
            logger: self.logger
        ) { message in try await self.apply(message.payload) }.run()
    }

    /// Applies one event; other signaling events are acknowledged untouched.
    package func apply(_ payload: [UInt8]) async throws {
        let header = try WireCoding.decode(CloudEventHeader.self, from: Data(payload))
        let online: Bool
        let registration: DeviceRegistration
        let time: Date
        switch header.type {
        case DeviceRegistered.eventType.type:
            let event = try WireCoding.decode(CloudEvent<DeviceRegistered>.self, from: Data(payload))
            (online, registration, time) = (true, event.data.registration, event.time)
        case DeviceUnregistered.eventType.type:
            let event = try WireCoding.decode(CloudEvent<DeviceUnregistered>.self, from: Data(payload))
            (online, registration, time) = (false, event.data.registration, event.time)
        case DeviceExpired.eventType.type:
            let event = try WireCoding.decode(CloudEvent<DeviceExpired>.self, from: Data(payload))
            (online, registration, time) = (false, event.data.registration, event.time)
        default:
            return
        }
        try await self.client.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE \(self.schema).devices
                    SET online = $3 AND revoked_at IS NULL, presence_changed_at = $4,
                        last_seen_at = CASE WHEN $3 THEN $4 ELSE last_seen_at END
                    WHERE tenant_id = $1 AND id = $2 AND (presence_changed_at IS NULL OR presence_changed_at <= $4)
                    """,
                binds: PostgresBindings(header.tenantid.rawValue, registration.deviceId, online, time)
            ),
            logger: self.logger
        )
    }
}
