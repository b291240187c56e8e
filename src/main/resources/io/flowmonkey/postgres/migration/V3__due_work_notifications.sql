-- Tells listening workers at once when work becomes due, instead of at their next poll.
-- The channel is "flowmonkey_" followed by the table's OID (short, and unique per table); the payload
-- is "<wake_at>:<id>", with an empty wake_at for work due now. Notifications are sent at commit and
-- only for rows saved pending, or waiting with a wake-up time; claims and lease renewals do not
-- touch status or wait_metadata, so they send nothing.
-- A session (or role) may opt out with: SET flowmonkey.notify = 'off'.
CREATE OR REPLACE FUNCTION "${schema}"."${table}_notify_due"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('flowmonkey.notify', true), '') <> 'off' THEN
    PERFORM pg_notify('flowmonkey_' || TG_RELID::text,
                      CASE WHEN NEW.status = 'pending' THEN '' ELSE NEW.wake_at::text END || ':' || NEW.id);
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_notify_due" ON "${schema}"."${table}";
CREATE TRIGGER "${table}_notify_due"
  AFTER INSERT OR UPDATE OF status, wait_metadata ON "${schema}"."${table}"
  FOR EACH ROW
  WHEN (NEW.status = 'pending' OR (NEW.status = 'waiting' AND NEW.wake_at IS NOT NULL))
  EXECUTE FUNCTION "${schema}"."${table}_notify_due"();
