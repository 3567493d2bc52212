import ServiceKit

/// The audit schema. Append only.
enum AuditMigrations {
    static let all: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata,
        SQLMigration(
            "0002_records_and_quarantine",
            [
                """
                CREATE TABLE {schema}.records (
                    tenant_id UUID NOT NULL,
                    seq BIGINT NOT NULL CHECK (seq >= 1),
                    event_id UUID NOT NULL UNIQUE,
                    event_type TEXT NOT NULL,
                    source TEXT NOT NULL,
                    subject TEXT,
                    nats_subject TEXT NOT NULL,
                    occurred_at TIMESTAMPTZ NOT NULL,
                    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    stream_seq BIGINT NOT NULL,
                    raw BYTEA NOT NULL,
                    prev_hash BYTEA NOT NULL CHECK (length(prev_hash) = 32),
                    hash BYTEA NOT NULL CHECK (length(hash) = 32),
                    PRIMARY KEY (tenant_id, seq)
                )
                """,
                "CREATE INDEX ON {schema}.records (tenant_id, occurred_at DESC)",
                "CREATE INDEX ON {schema}.records (tenant_id, event_type, occurred_at DESC)",
                """
                CREATE TABLE {schema}.heads (
                    tenant_id UUID PRIMARY KEY,
                    seq BIGINT NOT NULL,
                    hash BYTEA NOT NULL CHECK (length(hash) = 32),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE {schema}.quarantine (
                    id BIGSERIAL PRIMARY KEY,
                    stream_seq BIGINT NOT NULL UNIQUE,
                    nats_subject TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    raw BYTEA NOT NULL,
                    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
            ]
        ),
        SQLMigration(
            "0003_checkpoints",
            [
                """
                CREATE TABLE {schema}.signing_keys (
                    key_id TEXT PRIMARY KEY,
                    public_key BYTEA NOT NULL CHECK (length(public_key) = 32),
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE {schema}.checkpoints (
                    tenant_id UUID NOT NULL,
                    seq BIGINT NOT NULL,
                    from_seq BIGINT NOT NULL CHECK (from_seq BETWEEN 1 AND seq),
                    head_hash BYTEA NOT NULL,
                    merkle_root BYTEA NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL,
                    key_id TEXT NOT NULL REFERENCES {schema}.signing_keys (key_id),
                    signature BYTEA NOT NULL,
                    PRIMARY KEY (tenant_id, seq)
                )
                """,
            ]
        ),
    ]
}
