-- Write path (issue 13): the metadata index holds only rows that have metadata.
--
-- V7's GIN index (metadata jsonb_path_ops) had an entry for every row, '{}' included (GIN keeps an
-- "empty item" for a value with no keys, so that a scan of the whole index finds it), so an execution
-- created without metadata (most) wrote one into it on its insert and on every save that is not HOT
-- (each that changes status): 166 bytes of WAL in the pending list each time, and the work of merging
-- them into the index later, for an entry no query reads. FlowMonkey's metadata filter is never empty
-- (an empty filter is no condition at all) and a non-empty one never matches '{}', so the store's
-- metadata queries say metadata <> '{}' beside metadata @> ?, which is what lets PostgreSQL use this
-- partial index for them, in generic plans too. Measured with the benchmark's 1-step drain: the WAL
-- per execution in docs/PERFORMANCE.md.
--
-- The planner takes the two conditions for independent, so where most rows have no metadata it expects
-- fewer matches than there are; but matches are then rows with metadata, few by the same token.
--
-- A reader of the table that filters with metadata @> ... alone no longer finds this index; add
-- AND metadata <> '{}' (the same rows, for a non-empty filter) to use it.
--
-- Cost of this migration: the CREATE INDEX reads the table and blocks its writes while it builds. On a
-- large table, build it by hand first with CREATE INDEX CONCURRENTLY under the same name and definition
-- (check pg_index.indisvalid afterwards: a failed concurrent build leaves an invalid index, which IF NOT
-- EXISTS would keep), then run it; the drop takes a moment.
CREATE INDEX IF NOT EXISTS "idx_${table}_metadata_set" ON "${schema}"."${table}" USING gin (metadata jsonb_path_ops)
  WHERE metadata <> '{}'::jsonb;
DROP INDEX IF EXISTS "${schema}"."idx_${table}_metadata";
