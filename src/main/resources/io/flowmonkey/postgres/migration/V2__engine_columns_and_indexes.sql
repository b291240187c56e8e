-- What the Java engine and workers need beyond the seed's table. Columns are added with defaults
-- that make existing rows valid: a stored row has version 1, no parent, empty metadata.
ALTER TABLE "${schema}"."${table}"
  ADD COLUMN IF NOT EXISTS current_step_id TEXT,
  ADD COLUMN IF NOT EXISTS step_count INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS parent_execution_id TEXT,
  ADD COLUMN IF NOT EXISTS metadata JSONB NOT NULL DEFAULT '{}',
  ADD COLUMN IF NOT EXISTS timeout_config JSONB,
  ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 1,
  -- wait_metadata.wakeAt, generated so that it stays equal whoever writes the row (FlowMonkey for
  -- TypeScript included), and indexed so that due waits are found without reading JSON.
  ADD COLUMN IF NOT EXISTS wake_at BIGINT GENERATED ALWAYS AS (
    CASE WHEN jsonb_typeof(wait_metadata -> 'wakeAt') = 'number'
         THEN (wait_metadata ->> 'wakeAt')::numeric::bigint END) STORED,
  -- Which worker holds the execution, and until when (epoch millis of the database clock).
  ADD COLUMN IF NOT EXISTS lease_owner TEXT,
  ADD COLUMN IF NOT EXISTS lease_expires_at BIGINT;

-- NOT VALID: rows written before the check are not rejected here; the store reports them on read.
ALTER TABLE "${schema}"."${table}" ADD CONSTRAINT "${table}_status_check"
  CHECK (status IN ('pending', 'running', 'waiting', 'cancelling', 'cancelled', 'completed', 'failed'))
  NOT VALID;

-- Composite indexes let findByStatus and findByTenant read the newest rows in index order instead of
-- sorting every row that matches; they replace the seed's single-column indexes. The seed's
-- duplicate of the UNIQUE constraint's index goes too. updated_at and version are deliberately not
-- indexed: they change on every save, and indexing them would make every update a non-HOT update.
DROP INDEX IF EXISTS "${schema}"."idx_${table}_status";
DROP INDEX IF EXISTS "${schema}"."idx_${table}_tenant";
DROP INDEX IF EXISTS "${schema}"."idx_${table}_idempotency";
CREATE INDEX IF NOT EXISTS "idx_${table}_status_created" ON "${schema}"."${table}" (status, created_at, id);
CREATE INDEX IF NOT EXISTS "idx_${table}_tenant_created" ON "${schema}"."${table}" (tenant_id, created_at, id);
CREATE INDEX IF NOT EXISTS "idx_${table}_wake" ON "${schema}"."${table}" (wake_at, id) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS "idx_${table}_parent" ON "${schema}"."${table}" (parent_execution_id, created_at)
  WHERE parent_execution_id IS NOT NULL;
