-- Indexes for ExecutionStore.query/count/deleteAll and PgExecutionStore.purge, chosen for what each
-- costs on writes as much as for what it serves.
--
-- Every index is paid on every insert, and on every update that is not HOT. An update is HOT (no new
-- index entries at all, and the old row version is pruned from the page without VACUUM) only when no
-- indexed column changes and the new row version fits on the same page. So:
--  * created_at, id, flow_id, flow_version and parent_execution_id never change after the insert:
--    indexes on them cost an entry per insert and nothing on HOT updates;
--  * error, completed_at, failed_at and cancelled_at change only when status changes, and status is
--    already indexed (V2), so those updates are not HOT anyway: indexing them costs one more entry on
--    the few saves that end or retry an execution, never on a step that keeps the status;
--  * metadata is written at create and not changed by the engine;
--  * updated_at changes on EVERY save: an index on it would make every save a non-HOT update paying
--    an entry in every index. It is deliberately not indexed; updated ranges are filters applied while
--    another index is read in order (narrow them with a status, tenant, flow or created range).
--
-- On a large existing table, CREATE INDEX blocks writes while it builds. To avoid that, build these
-- by hand with CREATE INDEX CONCURRENTLY under the same names before upgrading: IF NOT EXISTS makes
-- this migration keep them.

-- The query order (created_at DESC, id DESC) for queries with no equality filter, and created ranges.
CREATE INDEX IF NOT EXISTS "idx_${table}_created" ON "${schema}"."${table}" (created_at, id);

-- Executions of a flow, newest first. flow_version is left out of the key so that a flow's executions
-- of every version are read in order too; a version filter is checked on the rows read (a flow has
-- few versions, and the current one holds most executions).
CREATE INDEX IF NOT EXISTS "idx_${table}_flow_created" ON "${schema}"."${table}" (flow_id, created_at, id);

-- Children of a parent in the query order: V2's index lacked id, so ties needed an extra sort step.
-- Same partial predicate: rows without a parent, most of them, are not indexed.
CREATE INDEX IF NOT EXISTS "idx_${table}_parent_created" ON "${schema}"."${table}" (parent_execution_id, created_at, id)
  WHERE parent_execution_id IS NOT NULL;
DROP INDEX IF EXISTS "${schema}"."idx_${table}_parent";

-- Failed executions by error code, newest first; only rows with an error are indexed. The planner
-- ignores a partial index's statistics, so the expression gets statistics of its own (ANALYZE fills
-- them): without, counts of an error code are estimated at a twentieth of what they are.
CREATE INDEX IF NOT EXISTS "idx_${table}_error_code" ON "${schema}"."${table}" ((error ->> 'code'), created_at, id)
  WHERE error IS NOT NULL;
CREATE STATISTICS IF NOT EXISTS "${schema}"."${table}_error_code" ON ((error ->> 'code')) FROM "${schema}"."${table}";

-- metadata @> '{"key": value}'. jsonb_path_ops is about a third of the size of the default GIN operator
-- class and answers containment, the only operator queries use. GIN cannot return rows in order: a
-- metadata-only query sorts its matches (few, for a selective key) or, when the value is common, the
-- planner reads the created index in order and checks metadata on the way.
CREATE INDEX IF NOT EXISTS "idx_${table}_metadata" ON "${schema}"."${table}" USING gin (metadata jsonb_path_ops);
-- The planner estimates containment by testing the column's histogram of whole metadata objects; with
-- the default 100 entries a value held by one row in fifty is often missed, judged rare, and its
-- matches (tens of thousands) fetched through GIN and sorted: 300 ms for a first page on a million
-- rows. 500 entries see values down to about one row in a thousand (ANALYZE samples 150,000 rows).
ALTER TABLE "${schema}"."${table}" ALTER COLUMN metadata SET STATISTICS 500;

-- Purge: ended executions by the time they ended, oldest first. Only ended rows are indexed.
CREATE INDEX IF NOT EXISTS "idx_${table}_ended" ON "${schema}"."${table}"
  ((CASE status WHEN 'completed' THEN completed_at WHEN 'failed' THEN failed_at ELSE cancelled_at END))
  WHERE status IN ('completed', 'failed', 'cancelled');

-- Autovacuum by share of the table: the defaults (20 % dead rows before a vacuum, 10 % changed rows
-- before an analyze) let a table of ten million executions carry two million dead rows, and purges
-- delete in bulk. 5 % and 2 % keep bloat and planner statistics in check; ALTER TABLE ... SET (...)
-- overrides them per installation.
ALTER TABLE "${schema}"."${table}" SET (autovacuum_vacuum_scale_factor = 0.05,
                                        autovacuum_analyze_scale_factor = 0.02);
