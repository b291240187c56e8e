-- Counts by error code read the index alone (issue 12): the code gets a column of its own.
--
-- V7 indexed the expression (error ->> 'code'). PostgreSQL answers a query from an index alone (an
-- index-only scan, which reads the table only for pages the visibility map does not mark all-visible)
-- only when every column the query reads is in the index, and for an expression it counts the column
-- the expression reads, error, which that index does not hold. So a count of one error code visited
-- the table row of every match (a bitmap heap scan): 2.3-8.6 ms for 2,500-5,000 matches of a
-- million-row table on a quiet machine, 7.8-26 ms while a worker drained it. The plain column
-- error_code, in the index, makes that count an index-only scan.
--
-- The column is kept equal to error ->> 'code' by the database, so that every writer of the row keeps
-- it right (FlowMonkey for TypeScript and plain SQL, which know nothing of it, as well as this
-- library): a BEFORE trigger sets it whenever it differs. The trigger's WHEN clause is evaluated by the
-- server without calling the function, and the function is called only when the code changes: on a
-- save that leaves the error as it was (every step of a running execution), the clause compares the
-- column with the code of the row's error, null with null on nearly every row. The store's saves write
-- error_code never. Only UPDATEs that name error or error_code in their SET list run the clause at
-- all (claims and lease renewals do not); a writer that changes error in a trigger of its own must set
-- error_code too. A stored generated column would keep it right as well, but adding one rewrites the
-- whole table under an exclusive lock; adding a column without a default changes no row. Measured:
-- an UPDATE of 100,000 rows that names error and leaves it as it was took 0.60-0.71 s with the trigger
-- and 0.44-0.74 s with it disabled, six runs each: no difference beyond the run-to-run noise of the
-- shared 2-core machine.
--
-- Cost of this migration: the ALTER TABLE takes the table's exclusive lock, and holds it until the
-- migration commits, so reads and writes of the table wait for the backfill of every row with an
-- error and the build of the new index (a scan of the table). Measured on QueryAtScaleTest's table
-- (1,000,000 rows, 470 MB, 50,000 of them failed), PostgreSQL 17: 1.6 s in all, of which the backfill
-- 1.3 s (its updates change no indexed column, so they are HOT) and the index 0.3 s; run again on that
-- table with nothing to backfill, 0.65 s (the backfill's scan). Both grow with the table
-- and the backfill with its rows with an error. On a large table, prepare by hand first, each in its own
-- transaction: the ALTER TABLE, function and trigger below (instant), the backfill in batches of a few
-- thousand rows (UPDATE ... WHERE id IN (SELECT id ... WHERE error IS NOT NULL AND error_code IS
-- DISTINCT FROM (error ->> 'code') LIMIT 5000), repeated until it updates nothing), then the index by
-- CREATE INDEX CONCURRENTLY under the same name. This migration then finds everything in place: it
-- keeps the index (IF NOT EXISTS), and its backfill updates nothing.
ALTER TABLE "${schema}"."${table}" ADD COLUMN IF NOT EXISTS error_code TEXT;

CREATE OR REPLACE FUNCTION "${schema}"."${table}_error_code"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.error_code := NEW.error ->> 'code';
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER "${table}_error_code"
  BEFORE INSERT OR UPDATE OF error, error_code ON "${schema}"."${table}"
  FOR EACH ROW
  WHEN (NEW.error_code IS DISTINCT FROM (NEW.error ->> 'code'))
  EXECUTE FUNCTION "${schema}"."${table}_error_code"();

-- Rows written before the trigger. Rows without an error keep error_code null, as the trigger would.
UPDATE "${schema}"."${table}" SET error_code = error ->> 'code'
WHERE error IS NOT NULL AND error_code IS DISTINCT FROM (error ->> 'code');

-- Failed executions by error code, newest first, as V7's index, on the column; only rows with a code
-- are indexed. A column has statistics of its own, so V7's statistics of the expression go with its
-- index. Autovacuum's next analyze fills them (V7 has it analyze after 2 % of the rows changed, which
-- the backfill alone does on a table with that share of failed rows); until then an error code is
-- estimated at 0.5 % of the rows.
CREATE INDEX IF NOT EXISTS "idx_${table}_error_codes" ON "${schema}"."${table}" (error_code, created_at, id)
  WHERE error_code IS NOT NULL;
DROP INDEX IF EXISTS "${schema}"."idx_${table}_error_code";
DROP STATISTICS IF EXISTS "${schema}"."${table}_error_code";
