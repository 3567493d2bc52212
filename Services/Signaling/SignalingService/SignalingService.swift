import Foundation
import GatehouseWire
public import ServiceKit

/// The `signaling` service: its schema, migrations and components.
public enum SignalingService {
    /// PostgreSQL schema owned by this service.
    public static let schema = "signaling"

    /// Where signaling's stores write the events announcing their changes (decision 0008).
    package static func outbox(schema: String = Self.schema, instance: String = ProcessInfo.processInfo.hostName) -> OutboxWriter {
        OutboxWriter(schema: schema, source: EventSource(service: .signaling, instance: instance))
    }

    /// Append only: a shipped migration is never edited or renamed.
    public static let migrations: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata,
        SQLMigration(
            "0002_bindings",
            [
                """
                CREATE TABLE {schema}.bindings (
                    tenant_id UUID NOT NULL,
                    device_id UUID NOT NULL,
                    site_id UUID NOT NULL,
                    device_kind TEXT NOT NULL,
                    aor TEXT NOT NULL,
                    contact TEXT NOT NULL CHECK (length(contact) <= 1024),
                    q DOUBLE PRECISION,
                    transport TEXT NOT NULL,
                    source_ip TEXT NOT NULL,
                    source_port INT NOT NULL,
                    instance TEXT NOT NULL,
                    call_id TEXT NOT NULL,
                    cseq BIGINT NOT NULL,
                    user_agent TEXT,
                    expires_at TIMESTAMPTZ NOT NULL,
                    registered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (device_id, contact)
                )
                """,
                "CREATE INDEX bindings_aor ON {schema}.bindings (aor)",
                "CREATE INDEX bindings_expiry ON {schema}.bindings (expires_at)",
                "CREATE INDEX bindings_tenant ON {schema}.bindings (tenant_id, site_id)",
            ]
        ),
        OutboxWriter.migration("0003_outbox"),
        SQLMigration("0004_bindings_by_contact", ["CREATE INDEX bindings_contact ON {schema}.bindings (contact)"]),
    ]

    public static let definition = ServiceDefinition(
        name: .signaling,
        schema: schema,
        migrations: migrations,
        build: { resources in
            let configuration = try SignalingConfiguration(config: resources.config)
            let sip = SIPServer(
                configuration: configuration,
                bus: resources.bus,
                postgres: resources.postgres,
                outbox: Self.outbox(instance: resources.configuration.instance),
                instance: resources.configuration.instance,
                logger: resources.logger
            )
            return ServiceComponents(
                services: [
                    sip,
                    BindingSweeper(store: sip.store, logger: resources.logger),
                    OutboxRelay(client: resources.postgres, schema: schema, transport: resources.bus.transport, logger: resources.logger),
                ] + [sip.accountFeed(nats: resources.nats)].compactMap { $0 }
            )
        }
    )
}
