-- Write path (issue 13): the two tenant indexes hold only rows that have a tenant.
--
-- V2 and V9 indexed (tenant_id, created_at, id) and (tenant_id, status, created_at, id) over every row,
-- so an execution without a tenant had an entry in both, each version of it: its insert and every save
-- that changes status (those are not HOT) wrote two entries that no query reads, since every query of a
-- tenant names one (tenant_id = ?, which implies tenant_id IS NOT NULL, so PostgreSQL uses these partial
-- indexes for it, in generic plans too). Measured with the benchmark's 1-step drain of executions without
-- a tenant (-Dbench.tenant=): the WAL of the drain and of the enqueue, per execution, in
-- docs/PERFORMANCE.md. Rows with a tenant are indexed as before.
--
-- A reader of the table that asks for rows without a tenant (tenant_id IS NULL) no longer finds them
-- in an index; FlowMonkey never does.
--
-- Cost of this migration: each CREATE INDEX reads the table and blocks its writes while it builds (about
-- a second per million rows). On a large table, build both by hand first with CREATE INDEX CONCURRENTLY
-- under the same names and definitions, then run it: IF NOT EXISTS keeps them, and the drops take a
-- moment. A concurrent build that fails leaves an INVALID index under its name, which IF NOT EXISTS
-- would keep too: check pg_index.indisvalid of both first, and drop and build again any that is not.
CREATE INDEX IF NOT EXISTS "idx_${table}_tenants_created" ON "${schema}"."${table}" (tenant_id, created_at, id)
  WHERE tenant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS "idx_${table}_tenants_status" ON "${schema}"."${table}" (tenant_id, status, created_at, id)
  WHERE tenant_id IS NOT NULL;
DROP INDEX IF EXISTS "${schema}"."idx_${table}_tenant_created";
DROP INDEX IF EXISTS "${schema}"."idx_${table}_tenant_status";
