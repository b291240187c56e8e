-- Worker heartbeats: one row per live EngineWorker, written by the worker itself every lease renewal
-- (a third of its lease), so that operators and Engine.diagnose can see who runs what. A side table,
-- never joined by claims or saves: heartbeats never touch, lock or bloat the executions table.
-- Times are the database's clock (epoch millis), like leases, so workers on skewed machines agree.
-- A row is live until its expires_at (its last heartbeat plus the worker's lease length: a worker
-- that has not heartbeat for that long has lost its leases too). Readers ignore rows past it, and
-- each heartbeat deletes them, so the table holds the live workers and the recently dead only.
CREATE TABLE IF NOT EXISTS "${schema}"."${table}_workers" (
  worker_id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid BIGINT NOT NULL,
  -- [{"flowId": "...", "version": "..."}, ...]: the flow versions the worker claims.
  serves JSONB NOT NULL DEFAULT '[]',
  threads INTEGER NOT NULL,
  in_flight INTEGER NOT NULL,
  started_at BIGINT NOT NULL,
  last_heartbeat BIGINT NOT NULL,
  last_claim BIGINT,
  expires_at BIGINT NOT NULL,
  -- Claim lateness per minute over the last hour: [{"minute": epoch minute, "count": n, "maxMs": m,
  -- "p99Ms": p}, ...].
  lateness JSONB NOT NULL DEFAULT '[]');

-- Counts and first pages of one tenant's executions by status ("failed in tenant acme"): without it,
-- the planner intersects bitmaps of the status index and the tenant index, reading every entry of
-- both (a million-row table: 10,000 of the tenant and 50,000 failed, to count 500 of them: 8-15 ms);
-- with it, a count reads only its matches' entries, index-only where the visibility map allows.
-- What it costs: an entry per insert, and per save that changes the status, which is not HOT
-- anyway (status is indexed since V2); saves that keep the status stay HOT. Build it by hand with
-- CREATE INDEX CONCURRENTLY under this name before upgrading a large table: IF NOT EXISTS keeps it.
CREATE INDEX IF NOT EXISTS "idx_${table}_tenant_status" ON "${schema}"."${table}" (tenant_id, status, created_at, id);
