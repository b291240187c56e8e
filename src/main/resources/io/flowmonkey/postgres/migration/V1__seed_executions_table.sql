-- FlowMonkey executions table, exactly as FlowMonkey for TypeScript (@flowmonkey/postgres) creates it,
-- so that a database made from that DDL is adopted in place.
-- Placeholders ${schema} and ${table} are substituted by SchemaApplier, or by Flyway when this
-- folder is used as a Flyway location with placeholders "schema" and "table".
-- The indexes say IF NOT EXISTS, unlike the seed, so that adopting a seed-made database succeeds.
-- The seed's idx_executions_idempotency is left out: the UNIQUE constraint below already has an
-- index on idempotency_key, and a second one would only slow every write.
CREATE TABLE IF NOT EXISTS "${schema}"."${table}" (
  id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, flow_version TEXT NOT NULL, tenant_id TEXT,
  status TEXT NOT NULL, context JSONB NOT NULL, history JSONB NOT NULL DEFAULT '[]', error JSONB,
  wait_metadata JSONB, cancellation JSONB, idempotency_key TEXT UNIQUE, idempotency_expires_at BIGINT,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, completed_at BIGINT, failed_at BIGINT,
  cancelled_at BIGINT);
CREATE INDEX IF NOT EXISTS "idx_${table}_status" ON "${schema}"."${table}"(status);
CREATE INDEX IF NOT EXISTS "idx_${table}_tenant" ON "${schema}"."${table}"(tenant_id);
