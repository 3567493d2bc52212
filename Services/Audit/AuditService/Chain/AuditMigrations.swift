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
        SQLMigration(
            "0004_context_sealing_retention_roles",
            [
                """
                ALTER TABLE {schema}.records
                    ADD COLUMN format SMALLINT NOT NULL DEFAULT 1 CHECK (format IN (1, 2)),
                    ADD COLUMN site_id UUID,
                    ADD COLUMN building_id UUID,
                    ADD COLUMN door_id UUID,
                    ADD COLUMN unit_id UUID,
                    ADD COLUMN person_id UUID,
                    ADD COLUMN call_id UUID,
                    ADD COLUMN pass_id UUID,
                    ADD COLUMN outcome TEXT,
                    ADD COLUMN reason TEXT,
                    ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT false
                """,
                "CREATE INDEX ON {schema}.records (tenant_id, site_id, occurred_at DESC) WHERE site_id IS NOT NULL",
                "CREATE INDEX ON {schema}.records (tenant_id, person_id, occurred_at DESC) WHERE person_id IS NOT NULL",
                "CREATE INDEX ON {schema}.records (tenant_id, door_id, occurred_at DESC) WHERE door_id IS NOT NULL",
                // One data key per person, wrapped with the service's key-encryption key; erasure sets
                // `wrapped_key` to NULL (the row stays as a tombstone, so later events are not readable either).
                """
                CREATE TABLE {schema}.person_keys (
                    tenant_id UUID NOT NULL,
                    person_id UUID NOT NULL,
                    wrapped_key BYTEA,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    erased_at TIMESTAMPTZ,
                    PRIMARY KEY (tenant_id, person_id),
                    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
                )
                """,
                """
                CREATE TABLE {schema}.retention (
                    tenant_id UUID PRIMARY KEY,
                    days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 3650),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                // Where each tenant's retained chain starts: records 1…through_seq were pruned; the
                // signed checkpoint at through_seq anchors what remains.
                """
                CREATE TABLE {schema}.pruned (
                    tenant_id UUID PRIMARY KEY,
                    through_seq BIGINT NOT NULL CHECK (through_seq >= 1),
                    pruned_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                // Privileges (docs/audit.md): the roles exist cluster-wide (deploy/postgres/roles.sql).
                // The writer appends and never rewrites; only the retention job deletes, and only records.
                "GRANT USAGE ON SCHEMA {schema} TO gatehouse_audit_writer, gatehouse_audit_retention, gatehouse_audit_reader",
                "GRANT SELECT, INSERT ON {schema}.records, {schema}.quarantine, {schema}.checkpoints, {schema}.signing_keys TO gatehouse_audit_writer",
                "GRANT SELECT, INSERT, UPDATE ON {schema}.heads, {schema}.person_keys TO gatehouse_audit_writer",
                "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO gatehouse_audit_writer",
                "GRANT SELECT, DELETE ON {schema}.records TO gatehouse_audit_retention",
                "GRANT SELECT ON {schema}.checkpoints, {schema}.retention, {schema}.heads TO gatehouse_audit_retention",
                "GRANT SELECT, INSERT, UPDATE ON {schema}.pruned TO gatehouse_audit_retention",
                """
                GRANT SELECT ON {schema}.records, {schema}.checkpoints, {schema}.signing_keys, {schema}.heads,
                    {schema}.person_keys, {schema}.pruned, {schema}.retention, {schema}.quarantine TO gatehouse_audit_reader
                """,
            ]
        ),
    ]
}
