-- The dashboard's read-only role on the target database: it reads the ledger (uploads, rejects)
-- and nothing it could change. Run it as the role that owns courtfeed's tables and runs its
-- migrations (the compose stack's airflow-init does, on every start; it is idempotent), then set
-- the role's password and point the Airflow connection courtfeed_dashboard at it:
--
--   psql "$TARGET_URL" -f deploy/sql/dashboard-readonly.sql
--   psql "$TARGET_URL" -c "ALTER ROLE courtfeed_dashboard PASSWORD '...'"
--
-- Plain SQL, no psql variables: the role name is fixed (courtfeed_dashboard).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'courtfeed_dashboard') THEN
    CREATE ROLE courtfeed_dashboard LOGIN;
  END IF;
END
$$;
ALTER ROLE courtfeed_dashboard NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
-- Every transaction of the role is read-only, whatever a client asks for.
ALTER ROLE courtfeed_dashboard SET default_transaction_read_only = on;
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO courtfeed_dashboard', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO courtfeed_dashboard;
-- The tables there now, and those later migrations create (as the role running this file).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO courtfeed_dashboard;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO courtfeed_dashboard;
