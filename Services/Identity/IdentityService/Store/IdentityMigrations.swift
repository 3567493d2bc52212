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
        SQLMigration(
            "0005_doors_devices_ring_plans",
            [
                // A door or gate: in a building, or shared by the site (building_id NULL: lobby, garage).
                """
                CREATE TABLE {schema}.doors (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL,
                    site_id UUID NOT NULL,
                    building_id UUID,
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    kind TEXT NOT NULL CHECK (kind IN ('door', 'gate')),
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    FOREIGN KEY (tenant_id, site_id) REFERENCES {schema}.sites (tenant_id, id),
                    FOREIGN KEY (tenant_id, building_id) REFERENCES {schema}.buildings (tenant_id, id),
                    UNIQUE (site_id, name),
                    UNIQUE (tenant_id, id)
                )
                """,
                // SIP credentials per device, stored only as HA1 digests; revoked devices keep their
                // row (events and audit records name them) and lose their secrets.
                """
                CREATE TABLE {schema}.devices (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL,
                    site_id UUID NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('door_station', 'sip_phone', 'indoor_monitor')),
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    vendor TEXT CHECK (vendor IN ('2n', 'akuvox', 'doorbird', 'aiphone', 'generic')),
                    model TEXT CHECK (length(model) <= 100),
                    door_id UUID,
                    unit_id UUID,
                    person_id UUID,
                    sip_username TEXT NOT NULL CHECK (sip_username ~ '^[A-Za-z0-9._-]{3,64}$'),
                    sip_realm TEXT NOT NULL,
                    ha1_md5 BYTEA CHECK (length(ha1_md5) = 16),
                    ha1_sha256 BYTEA CHECK (length(ha1_sha256) = 32),
                    control_url TEXT CHECK (length(control_url) <= 500),
                    online BOOLEAN NOT NULL DEFAULT false,
                    last_seen_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    version INT NOT NULL DEFAULT 1,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    FOREIGN KEY (tenant_id, site_id) REFERENCES {schema}.sites (tenant_id, id),
                    FOREIGN KEY (tenant_id, door_id) REFERENCES {schema}.doors (tenant_id, id),
                    FOREIGN KEY (tenant_id, unit_id) REFERENCES {schema}.units (tenant_id, id),
                    FOREIGN KEY (tenant_id, person_id) REFERENCES {schema}.people (tenant_id, id),
                    CHECK ((kind = 'door_station') = (door_id IS NOT NULL)),
                    CHECK (revoked_at IS NOT NULL OR (ha1_md5 IS NOT NULL AND ha1_sha256 IS NOT NULL)),
                    UNIQUE (sip_realm, sip_username),
                    UNIQUE (tenant_id, id)
                )
                """,
                "CREATE INDEX ON {schema}.devices (tenant_id, unit_id) WHERE revoked_at IS NULL",
                "CREATE INDEX ON {schema}.devices (tenant_id, person_id) WHERE revoked_at IS NULL",
                // Who rings when a unit does not answer: per building, else per site, in position order.
                """
                CREATE TABLE {schema}.ring_fallbacks (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL,
                    site_id UUID NOT NULL,
                    building_id UUID,
                    position INT NOT NULL CHECK (position BETWEEN 1 AND 20),
                    kind TEXT NOT NULL CHECK (kind IN ('staff', 'external')),
                    person_id UUID,
                    number TEXT CHECK (number ~ '^\\+[1-9][0-9]{6,14}$'),
                    ring_seconds INT NOT NULL DEFAULT 20 CHECK (ring_seconds BETWEEN 5 AND 120),
                    FOREIGN KEY (tenant_id, site_id) REFERENCES {schema}.sites (tenant_id, id),
                    FOREIGN KEY (tenant_id, building_id) REFERENCES {schema}.buildings (tenant_id, id),
                    FOREIGN KEY (tenant_id, person_id) REFERENCES {schema}.people (tenant_id, id),
                    CHECK ((kind = 'staff') = (person_id IS NOT NULL) AND (kind = 'external') = (number IS NOT NULL))
                )
                """,
                "CREATE UNIQUE INDEX ON {schema}.ring_fallbacks (site_id, coalesce(building_id, site_id), position)",
                "ALTER TABLE {schema}.units ADD COLUMN ring_seconds INT NOT NULL DEFAULT 30 CHECK (ring_seconds BETWEEN 5 AND 120)",
                // Access tokens issued before this instant are no longer active (introspection).
                "ALTER TABLE {schema}.people ADD COLUMN sessions_valid_after TIMESTAMPTZ",
                // Integrators' API keys: shown once, kept as SHA-256 of the secret part.
                """
                CREATE TABLE {schema}.api_keys (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL REFERENCES {schema}.tenants (id),
                    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
                    secret_hash BYTEA NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
                    domains TEXT[] NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    last_used_at TIMESTAMPTZ,
                    revoked_at TIMESTAMPTZ,
                    UNIQUE (tenant_id, name)
                )
                """,
            ]
        ),
        // Events written with the change they announce (decision 0008).
        OutboxWriter.migration("0006_outbox"),
        SQLMigration(
            "0007_import_jobs",
            [
                """
                CREATE TABLE {schema}.import_jobs (
                    id UUID PRIMARY KEY,
                    tenant_id UUID NOT NULL REFERENCES {schema}.tenants (id),
                    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
                    dry_run BOOLEAN NOT NULL,
                    phase TEXT,
                    done INT NOT NULL DEFAULT 0,
                    total INT NOT NULL DEFAULT 0,
                    result JSONB,
                    problems JSONB,
                    error TEXT,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    started_at TIMESTAMPTZ,
                    finished_at TIMESTAMPTZ,
                    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX ON {schema}.import_jobs (tenant_id, created_at)",
            ]
        ),
        // The ring plan in one round trip with plans PostgreSQL caches per connection (PL/pgSQL
        // keeps its statements' plans), for signaling's hot path (`identity.resolve_dial`).
        SQLMigration(
            "0008_dial_plan_function",
            [
                """
                CREATE FUNCTION {schema}.dial_plan(p_domain text, p_dialled text)
                RETURNS TABLE (
                    tenant_id uuid, site_id uuid, time_zone text, unit_id uuid, building_id uuid, dial_number text,
                    step_rank int, step_position int, ring_seconds int, kind text, device_id uuid, sip_username text,
                    person_id uuid, number text
                )
                LANGUAGE plpgsql STABLE AS $fn$
                #variable_conflict use_column
                DECLARE
                    u record;
                BEGIN
                    SELECT s.tenant_id AS t, s.id AS s, s.time_zone AS z, un.id AS id, un.building_id AS b,
                           un.dial_number AS d, un.ring_seconds AS r
                      INTO u
                      FROM {schema}.sites s JOIN {schema}.units un ON un.tenant_id = s.tenant_id AND un.site_id = s.id
                     WHERE s.sip_domain = p_domain AND un.dial_number = p_dialled;
                    IF NOT FOUND THEN
                        RETURN;
                    END IF;
                    RETURN QUERY
                        SELECT u.t, u.s, u.z, u.id, u.b, u.d, x.step_rank, x.step_position, x.ring_seconds, x.kind,
                               x.device_id, x.sip_username, x.person_id, x.number
                        FROM (
                            SELECT 0 AS step_rank, 0 AS step_position, u.r AS ring_seconds, 'unit'::text AS kind,
                                   d.id AS device_id, d.sip_username, d.person_id, NULL::text AS number
                              FROM {schema}.devices d
                             WHERE d.tenant_id = u.t AND d.unit_id = u.id AND d.revoked_at IS NULL AND d.kind <> 'door_station'
                            UNION
                            SELECT 0, 0, u.r, 'unit', d.id, d.sip_username, d.person_id, NULL
                              FROM {schema}.unit_residents r
                              JOIN {schema}.devices d ON d.tenant_id = r.tenant_id AND d.person_id = r.person_id
                             WHERE r.tenant_id = u.t AND r.unit_id = u.id AND d.revoked_at IS NULL AND d.kind <> 'door_station'
                            UNION ALL
                            SELECT CASE WHEN f.building_id IS NULL THEN 2 ELSE 1 END, f.position, f.ring_seconds, f.kind,
                                   d.id, d.sip_username, f.person_id, f.number
                              FROM {schema}.ring_fallbacks f
                              LEFT JOIN {schema}.devices d ON f.kind = 'staff' AND d.tenant_id = f.tenant_id
                                   AND d.person_id = f.person_id AND d.revoked_at IS NULL AND d.kind <> 'door_station'
                             WHERE f.tenant_id = u.t AND f.site_id = u.s AND (f.building_id IS NULL OR f.building_id = u.b)
                        ) x
                        ORDER BY x.step_rank, x.step_position, x.device_id;
                    IF NOT FOUND THEN
                        -- The unit exists but nothing rings: one row without a step.
                        RETURN QUERY SELECT u.t, u.s, u.z, u.id, u.b, u.d, NULL::int, NULL::int, NULL::int, NULL::text,
                                            NULL::uuid, NULL::text, NULL::uuid, NULL::text;
                    END IF;
                END
                $fn$
                """
            ]
        ),
        SQLMigration(
            "0009_device_presence",
            [
                // When signaling last changed the device's online state, so late or redelivered
                // events never undo newer ones.
                "ALTER TABLE {schema}.devices ADD COLUMN presence_changed_at TIMESTAMPTZ"
            ]
        ),
        SQLMigration(
            "0010_tenant_deletion",
            [
                // A deleted tenant keeps its row (erased people and audit records refer to its id;
                // its slug stays taken) and gets nothing new: a site, person, API key or import inserted for
                // it fails with SQLSTATE GHT01, which the API answers 404. FOR SHARE waits for a
                // deletion in progress and then sees it.
                "ALTER TABLE {schema}.tenants ADD COLUMN deleted_at TIMESTAMPTZ",
                """
                CREATE FUNCTION {schema}.refuse_deleted_tenant() RETURNS trigger LANGUAGE plpgsql AS $fn$
                DECLARE
                    gone BOOLEAN;
                BEGIN
                    SELECT deleted_at IS NOT NULL INTO gone FROM {schema}.tenants WHERE id = NEW.tenant_id FOR SHARE;
                    IF gone THEN
                        RAISE EXCEPTION 'tenant % was deleted', NEW.tenant_id USING ERRCODE = 'GHT01';
                    END IF;
                    RETURN NEW;
                END
                $fn$
                """,
                "CREATE TRIGGER live_tenant BEFORE INSERT ON {schema}.sites FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_deleted_tenant()",
                "CREATE TRIGGER live_tenant BEFORE INSERT ON {schema}.people FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_deleted_tenant()",
                "CREATE TRIGGER live_tenant BEFORE INSERT ON {schema}.api_keys FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_deleted_tenant()",
                "CREATE TRIGGER live_tenant BEFORE INSERT ON {schema}.import_jobs FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_deleted_tenant()",
            ]
        ),
        SQLMigration(
            "0011_guests",
            [
                // A guest a resident or staff member invited, until expires_at (then erased).
                """
                ALTER TABLE {schema}.people
                    ADD COLUMN host_person_id UUID,
                    ADD COLUMN expires_at TIMESTAMPTZ,
                    ADD CONSTRAINT people_guest_host CHECK (kind = 'guest' OR (host_person_id IS NULL AND expires_at IS NULL)),
                    ADD CONSTRAINT people_host FOREIGN KEY (tenant_id, host_person_id) REFERENCES {schema}.people (tenant_id, id)
                """,
                "CREATE INDEX people_host ON {schema}.people (tenant_id, host_person_id) WHERE host_person_id IS NOT NULL",
                "CREATE INDEX people_expiry ON {schema}.people (expires_at) WHERE expires_at IS NOT NULL AND erased_at IS NULL",
            ]
        ),
        SQLMigration(
            "0012_fallback_hours",
            [
                // When a fallback rings against the site's call hours (access control's; decision 0021).
                """
                ALTER TABLE {schema}.ring_fallbacks
                    ADD COLUMN hours TEXT NOT NULL DEFAULT 'always' CHECK (hours IN ('always', 'business', 'after_hours'))
                """,
                // dial_plan (0008) with each target's hours as the last column.
                "DROP FUNCTION {schema}.dial_plan(text, text)",
                """
                CREATE FUNCTION {schema}.dial_plan(p_domain text, p_dialled text)
                RETURNS TABLE (
                    tenant_id uuid, site_id uuid, time_zone text, unit_id uuid, building_id uuid, dial_number text,
                    step_rank int, step_position int, ring_seconds int, kind text, device_id uuid, sip_username text,
                    person_id uuid, number text, hours text
                )
                LANGUAGE plpgsql STABLE AS $fn$
                #variable_conflict use_column
                DECLARE
                    u record;
                BEGIN
                    SELECT s.tenant_id AS t, s.id AS s, s.time_zone AS z, un.id AS id, un.building_id AS b,
                           un.dial_number AS d, un.ring_seconds AS r
                      INTO u
                      FROM {schema}.sites s JOIN {schema}.units un ON un.tenant_id = s.tenant_id AND un.site_id = s.id
                     WHERE s.sip_domain = p_domain AND un.dial_number = p_dialled;
                    IF NOT FOUND THEN
                        RETURN;
                    END IF;
                    RETURN QUERY
                        SELECT u.t, u.s, u.z, u.id, u.b, u.d, x.step_rank, x.step_position, x.ring_seconds, x.kind,
                               x.device_id, x.sip_username, x.person_id, x.number, x.hours
                        FROM (
                            SELECT 0 AS step_rank, 0 AS step_position, u.r AS ring_seconds, 'unit'::text AS kind,
                                   d.id AS device_id, d.sip_username, d.person_id, NULL::text AS number, 'always'::text AS hours
                              FROM {schema}.devices d
                             WHERE d.tenant_id = u.t AND d.unit_id = u.id AND d.revoked_at IS NULL AND d.kind <> 'door_station'
                            UNION
                            SELECT 0, 0, u.r, 'unit', d.id, d.sip_username, d.person_id, NULL, 'always'
                              FROM {schema}.unit_residents r
                              JOIN {schema}.devices d ON d.tenant_id = r.tenant_id AND d.person_id = r.person_id
                             WHERE r.tenant_id = u.t AND r.unit_id = u.id AND d.revoked_at IS NULL AND d.kind <> 'door_station'
                            UNION ALL
                            SELECT CASE WHEN f.building_id IS NULL THEN 2 ELSE 1 END, f.position, f.ring_seconds, f.kind,
                                   d.id, d.sip_username, f.person_id, f.number, f.hours
                              FROM {schema}.ring_fallbacks f
                              LEFT JOIN {schema}.devices d ON f.kind = 'staff' AND d.tenant_id = f.tenant_id
                                   AND d.person_id = f.person_id AND d.revoked_at IS NULL AND d.kind <> 'door_station'
                             WHERE f.tenant_id = u.t AND f.site_id = u.s AND (f.building_id IS NULL OR f.building_id = u.b)
                        ) x
                        ORDER BY x.step_rank, x.step_position, x.device_id;
                    IF NOT FOUND THEN
                        -- The unit exists but nothing rings: one row without a step.
                        RETURN QUERY SELECT u.t, u.s, u.z, u.id, u.b, u.d, NULL::int, NULL::int, NULL::int, NULL::text,
                                            NULL::uuid, NULL::text, NULL::uuid, NULL::text, NULL::text;
                    END IF;
                END
                $fn$
                """,
            ]
        ),
    ]
}
