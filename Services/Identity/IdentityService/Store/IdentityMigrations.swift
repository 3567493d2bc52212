import ServiceKit

/// The identity schema. Append only: a shipped migration is never edited or renamed.
///
/// Every row carries `tenant_id`; natural keys are unique within their parent, so imports upsert.
enum IdentityMigrations {
    static let all: [any DatabaseMigration] = [
        SQLMigration.serviceMetadata,
        SQLMigration(
            "0002_hierarchy",
            [
                """
                CREATE TABLE {schema}.tenants (
                    id UUID PRIMARY KEY,
                    slug TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    default_time_zone TEXT NOT NULL DEFAULT 'UTC',
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE {schema}.sites (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL REFERENCES {schema}.tenants (id),
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    time_zone TEXT NOT NULL,
                    sip_domain TEXT NOT NULL UNIQUE,
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    UNIQUE (tenant_id, name),
                    UNIQUE (tenant_id, id)
                )
                """,
                """
                CREATE TABLE {schema}.buildings (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL,
                    site_id UUID NOT NULL,
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    FOREIGN KEY (tenant_id, site_id) REFERENCES {schema}.sites (tenant_id, id),
                    UNIQUE (site_id, name),
                    UNIQUE (tenant_id, id)
                )
                """,
                """
                CREATE TABLE {schema}.units (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL,
                    site_id UUID NOT NULL,
                    building_id UUID NOT NULL,
                    dial_number TEXT NOT NULL CHECK (dial_number ~ '^[0-9A-Za-z]{1,16}$'),
                    floor TEXT,
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    FOREIGN KEY (tenant_id, site_id) REFERENCES {schema}.sites (tenant_id, id),
                    FOREIGN KEY (tenant_id, building_id) REFERENCES {schema}.buildings (tenant_id, id),
                    UNIQUE (site_id, dial_number),
                    UNIQUE (tenant_id, id)
                )
                """,
                """
                CREATE TABLE {schema}.people (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL REFERENCES {schema}.tenants (id),
                    kind TEXT NOT NULL CHECK (kind IN ('resident', 'staff', 'guest')),
                    display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
                    email TEXT CHECK (email = lower(email)),
                    phone TEXT,
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    UNIQUE (tenant_id, email),
                    UNIQUE (tenant_id, id)
                )
                """,
                """
                CREATE TABLE {schema}.unit_residents (
                    tenant_id UUID NOT NULL,
                    unit_id UUID NOT NULL,
                    person_id UUID NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('owner', 'tenant', 'occupant')),
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (unit_id, person_id),
                    FOREIGN KEY (tenant_id, unit_id) REFERENCES {schema}.units (tenant_id, id),
                    FOREIGN KEY (tenant_id, person_id) REFERENCES {schema}.people (tenant_id, id)
                )
                """,
                "CREATE INDEX ON {schema}.unit_residents (tenant_id, person_id)",
            ]
        ),
        SQLMigration(
            "0003_erasure_and_idempotency",
            [
                // An erased person keeps their id (records elsewhere refer to it) and nothing else.
                "ALTER TABLE {schema}.people ADD COLUMN erased_at TIMESTAMPTZ",
                """
                CREATE TABLE {schema}.idempotency_keys (
                    tenant_id UUID NOT NULL,
                    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
                    operation TEXT NOT NULL,
                    request_hash BYTEA NOT NULL,
                    status INT NOT NULL,
                    body BYTEA NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    PRIMARY KEY (tenant_id, key)
                )
                """,
                "CREATE INDEX ON {schema}.idempotency_keys (created_at)",
            ]
        ),
        SQLMigration(
            "0004_logins",
            [
                """
                ALTER TABLE {schema}.people
                    ADD COLUMN password_hash TEXT,
                    ADD COLUMN failed_logins INT NOT NULL DEFAULT 0,
                    ADD COLUMN locked_until TIMESTAMPTZ,
                    ADD COLUMN staff_role TEXT CHECK (staff_role IN ('tenant-admin', 'property-manager', 'staff')),
                    ADD COLUMN site_ids UUID[] NOT NULL DEFAULT '{}',
                    ADD COLUMN building_ids UUID[] NOT NULL DEFAULT '{}'
                """,
                "CREATE INDEX ON {schema}.people (tenant_id, email)",
                """
                CREATE TABLE {schema}.refresh_tokens (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL,
                    person_id UUID NOT NULL,
                    family_id UUID NOT NULL,
                    token_hash BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    expires_at TIMESTAMPTZ NOT NULL,
                    used_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    FOREIGN KEY (tenant_id, person_id) REFERENCES {schema}.people (tenant_id, id)
                )
                """,
                "CREATE INDEX ON {schema}.refresh_tokens (family_id)",
                "CREATE INDEX ON {schema}.refresh_tokens (tenant_id, person_id)",
            ]
        ),
    ]
}
