-- Cluster-wide roles Gatehouse's migrations grant privileges to (docs/operations.md). Run once per
-- cluster by a superuser, before the services start: scripts/common.sh (make run / make test) and
-- the postgres container's /docker-entrypoint-initdb.d do. Idempotent.
--
-- They cannot log in. The service login (`gatehouse`, the schemas' owner) is a member and switches
-- to one of them (SET LOCAL ROLE) for each transaction, so a write path can only do what its role
-- may: the audit writer appends but cannot UPDATE or DELETE audit records; only the retention job's
-- role deletes, and only records.
SELECT 'CREATE ROLE gatehouse_audit_writer NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse_audit_writer') \gexec
SELECT 'CREATE ROLE gatehouse_audit_retention NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse_audit_retention') \gexec
SELECT 'CREATE ROLE gatehouse_audit_reader NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gatehouse_audit_reader') \gexec
GRANT gatehouse_audit_writer, gatehouse_audit_retention, gatehouse_audit_reader TO gatehouse;
