-- Write path (issue 13): no row trigger runs before an UPDATE of the table.
--
-- While a table has any BEFORE UPDATE row trigger, PostgreSQL locks each row an UPDATE changes before
-- it changes it (to hand the trigger the row as it is), whatever the trigger's WHEN clause then says:
-- a Heap/LOCK record of WAL per updated row, the row's page locked and dirtied once more, and the
-- trigger's WHEN clause evaluated against both versions. V5's end_lease and V11's error_code were the
-- two, and every step save paid for them. The store's saves clear the lease themselves (so end_lease
-- never changed one of them) and, from this version on, their updates set error_code themselves too
-- (before, V11's trigger set it on each update that changed the error; an insert with an error still
-- has V11's BEFORE INSERT trigger set it). Measured with the benchmark's drains: about 55
-- bytes of WAL fewer per save, docs/PERFORMANCE.md, session 13.
--
-- Both now run AFTER the UPDATE, with the same WHEN clauses, for the other writers of the table: a save
-- that leaves a lease on a row it parks or ends, or that changes error without error_code, is followed
-- by a second update of that row in the same statement that clears the lease or sets the code. The row
-- then holds what it held before this migration once the statement is done; only that writer's own
-- RETURNING shows the row before the second update. The second update runs as that writer's role, so
-- it needs UPDATE on lease_owner, lease_expires_at and error_code (where privileges are granted by
-- column) and is subject to the table's row-level security policies, if any; it writes one more row
-- version (not HOT when it changes error_code, which is indexed). Inserts keep V11's BEFORE INSERT
-- trigger: an insert has no row to lock.
--
-- Cost of this migration: a moment (no table is read or rewritten).
CREATE OR REPLACE FUNCTION "${schema}"."${table}_end_lease"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Absent, not expired, as V5 left it: see V5 for why.
  UPDATE "${schema}"."${table}" SET lease_owner = NULL, lease_expires_at = NULL WHERE id = NEW.id;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_end_lease" ON "${schema}"."${table}";
CREATE TRIGGER "${table}_end_lease"
  AFTER UPDATE ON "${schema}"."${table}"
  FOR EACH ROW
  WHEN (NEW.status IN ('waiting', 'completed', 'failed', 'cancelled') AND NEW.lease_owner IS NOT NULL
        AND NEW.lease_owner IS NOT DISTINCT FROM OLD.lease_owner
        AND NEW.lease_expires_at IS NOT DISTINCT FROM OLD.lease_expires_at)
  EXECUTE FUNCTION "${schema}"."${table}_end_lease"();

CREATE OR REPLACE FUNCTION "${schema}"."${table}_error_code_updated"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "${schema}"."${table}" SET error_code = NEW.error ->> 'code' WHERE id = NEW.id;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_error_code" ON "${schema}"."${table}";
CREATE TRIGGER "${table}_error_code"
  BEFORE INSERT ON "${schema}"."${table}"
  FOR EACH ROW
  WHEN (NEW.error_code IS DISTINCT FROM (NEW.error ->> 'code'))
  EXECUTE FUNCTION "${schema}"."${table}_error_code"();
DROP TRIGGER IF EXISTS "${table}_error_code_updated" ON "${schema}"."${table}";
CREATE TRIGGER "${table}_error_code_updated"
  AFTER UPDATE OF error, error_code ON "${schema}"."${table}"
  FOR EACH ROW
  WHEN (NEW.error_code IS DISTINCT FROM (NEW.error ->> 'code'))
  EXECUTE FUNCTION "${schema}"."${table}_error_code_updated"();
