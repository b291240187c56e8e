-- Updated ranges (issue 12): a BRIN index on (updated_at, created_at), on PostgreSQL 16 and later only.
--
-- V7 left updated_at unindexed: it changes on every save, and an update that changes an indexed column
-- is not HOT, so a B-tree on it would make every save write an entry into every index. Without it, a
-- query "updated since T" reads the created index in order, checking updated_at on the way; nothing
-- bounds created_at from below (a row created long ago may be saved now), so a page past the last match
-- read the rest of the index: 232-576 ms on a million rows.
--
-- Since PostgreSQL 16, an update that changes only columns of summarizing indexes (BRIN) is still HOT:
-- no entry in any B-tree, the old version pruned from its page; the BRIN range of the row's page is
-- widened to the new value. (PostgreSQL 15 treats a BRIN index like any other: every save would be
-- non-HOT. So the index is made only from 16 on; on 15 updated ranges are read as before, and a server
-- upgraded from 15 gets the index by creating it by hand, as below.)
--
-- A BRIN index holds, per range of pages, the lowest and highest value of each column. Rows are written
-- in the order they are created and HOT updates keep them on their page, so a range's created_at span
-- is narrow, and its highest updated_at is recent only when one of its rows was saved recently. That is
-- what a query "updated since T" needs for the rows created before T (those in flight at T or touched
-- since; ExecutionSql.updatedSince reads rows created since T from the created index): the ranges whose
-- lowest created_at is before T and highest updated_at is at or after T.
--  * 16 pages per range (the default is 128): a range whose one row was saved recently costs reading
--    16 pages, not 128. About 200 kB for a million rows; every query reads all of it (under 1 ms).
--  * autosummarize: pages added at the table's end form ranges that are not summarized yet, and such
--    ranges are read by every query; with it, autovacuum summarizes a range as soon as inserts move on
--    to the next, instead of at the next VACUUM of the table.
-- It serves counts of updated ranges as well: the planner reads the ranges it selects instead of the
-- table.
--
-- Where it loses its edge: rows placed out of time order. Inserts reuse the space that VACUUM frees on
-- old pages (after purges, or rows that moved to another page when their page was full); a range holding
-- an old row and a new one has an old lowest created_at and a recent highest updated_at, and is read by
-- every "updated since" query. Many old rows saved after T (a bulk retry of old failures) make the
-- ranges read, and the rows sorted for each page, as many as they are.
--
-- On a large existing table, CREATE INDEX blocks writes while it builds (a BRIN index builds in one pass
-- over the table, seconds for millions of rows). To avoid that, build it by hand first with
-- CREATE INDEX CONCURRENTLY under the same name, definition and options: IF NOT EXISTS keeps it.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    CREATE INDEX IF NOT EXISTS "idx_${table}_updated" ON "${schema}"."${table}"
      USING brin (updated_at, created_at) WITH (pages_per_range = 16, autosummarize = on);
  END IF;
END
$$;
