-- Worker hardening.
--
-- 1. Rows set aside. A row a worker claimed but could not read (a corrupt JSON column, say) is marked
--    here, with the column at fault and why, instead of being claimed again every lease period. Claims
--    and findWakeReady skip marked rows whatever their status; PgExecutionStore.findSetAside lists them
--    and restoreSetAside clears the mark once the row is fixed.
ALTER TABLE "${schema}"."${table}"
  ADD COLUMN IF NOT EXISTS set_aside_at BIGINT,
  ADD COLUMN IF NOT EXISTS set_aside_column TEXT,
  ADD COLUMN IF NOT EXISTS set_aside_reason TEXT;

-- 2. A save that ends an execution, or parks it in a wait, gives up its lease in the same statement, so
--    that a worker killed right after the save leaves no claim behind, and a waiting execution is free
--    for any worker once due. Claims, renewals and releases change the lease columns themselves and
--    are left alone; saves (by this library or any other writer) do not touch them.
CREATE OR REPLACE FUNCTION "${schema}"."${table}_end_lease"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.lease_owner := NULL;
  -- Absent, not expired: claims read a missing lease as expired, so the row is claimable as soon as it
  -- is due; and when a caller then saves it running (Engine.resume or retry on its own thread), it is
  -- judged like any running row no worker holds, by updated_at plus the lease, so that no worker takes
  -- it over while the caller runs its steps.
  NEW.lease_expires_at := NULL;
  RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS "${table}_end_lease" ON "${schema}"."${table}";
CREATE TRIGGER "${table}_end_lease"
  BEFORE UPDATE ON "${schema}"."${table}"
  FOR EACH ROW
  WHEN (NEW.status IN ('waiting', 'completed', 'failed', 'cancelled') AND NEW.lease_owner IS NOT NULL
        AND NEW.lease_owner IS NOT DISTINCT FROM OLD.lease_owner
        AND NEW.lease_expires_at IS NOT DISTINCT FROM OLD.lease_expires_at)
  EXECUTE FUNCTION "${schema}"."${table}_end_lease"();

-- Finished rows left claimed by workers killed before this migration: nobody will release them.
UPDATE "${schema}"."${table}" SET lease_owner = NULL, lease_expires_at = NULL
WHERE lease_owner IS NOT NULL AND status IN ('completed', 'failed', 'cancelled');

-- Lists the rows set aside for operators. It holds those rows only, and saves never change
-- set_aside_at, so they stay HOT updates.
CREATE INDEX IF NOT EXISTS "idx_${table}_set_aside" ON "${schema}"."${table}" (set_aside_at, id)
  WHERE set_aside_at IS NOT NULL;
