-- Flow control: a priority for pending executions (CreateOptions.priority). A claim takes pending
-- executions of higher priority first, and those of equal priority oldest first; nothing else is
-- ordered by it. (A scheduled start, CreateOptions.startAt, needs no column: it is stored as a timed
-- wait at the first step, {"wakeAt", "reason"} as every wait, and falls due through idx_${table}_wake.)
--
-- A column with a constant default is added without rewriting the table (PostgreSQL 11 and later):
-- existing rows read 0, and writers that do not know the column (FlowMonkey for TypeScript, older
-- versions of this library) keep inserting 0. NOT VALID, as the status check of V2: the check applies
-- to rows written from now on without a scan of the table under an exclusive lock.
ALTER TABLE "${schema}"."${table}" ADD COLUMN IF NOT EXISTS priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "${schema}"."${table}" DROP CONSTRAINT IF EXISTS "${table}_priority_check";
ALTER TABLE "${schema}"."${table}" ADD CONSTRAINT "${table}_priority_check"
  CHECK (priority BETWEEN -1000 AND 1000) NOT VALID;

-- The claim's pending rows in the order it takes them. Partial: only pending rows are indexed, so the
-- index stays as small as the queue, and an update that changes neither status nor priority (every
-- step of a running execution) adds nothing to it. It replaces V2's (status, created_at, id) for the
-- claim, which would have to read every pending row and sort them by priority.
-- On a large existing table, CREATE INDEX blocks writes while it builds: build it by hand with
-- CREATE INDEX CONCURRENTLY under the same name before upgrading, and IF NOT EXISTS keeps it.
CREATE INDEX IF NOT EXISTS "idx_${table}_pending_priority" ON "${schema}"."${table}" (priority DESC, created_at, id)
  WHERE status = 'pending';
