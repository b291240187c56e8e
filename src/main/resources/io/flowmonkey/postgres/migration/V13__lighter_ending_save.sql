-- Write path (issue 13): one trigger at an execution's end instead of two.
--
-- V6 gave the save that ends an execution two deferred triggers, each a PL/pgSQL call at commit with a
-- query of its own: one announced the end to callers of Engine.awaitEnd that watch it, the other
-- deleted the signals it never consumed. Most executions have no signal at all when they end, buffered
-- or watching, and each call costs about as much as the rest of the save's commit (measured in
-- docs/PERFORMANCE.md). This one trigger does both, and in that common case stops after one look at the
-- signal index. What it does is what V6's two did, for every writer of the table:
--  * at the commit of a save (insert or update of status) that leaves the execution completed, failed
--    or cancelled, its signals other than watches ('flowmonkey.awaitEnd') are deleted: deferred, so that
--    the same transaction's consumption of a signal, which follows the save, still finds the row it
--    deletes;
--  * then, unless the session opted out (SET flowmonkey.notify = 'off'), the end is announced on
--    "flowmonkey_end_<table OID>", payload ":<id>", if a watch for it exists at that commit, one
--    committed while the ending transaction ran included. Watches stay: their callers remove them.
-- The delete of an execution still takes its signals with it (V6's cleanup trigger, unchanged).
CREATE OR REPLACE FUNCTION "${schema}"."${table}_ended"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "${schema}"."${table}_signals" WHERE execution_id = NEW.id) THEN
    RETURN NULL;
  END IF;
  DELETE FROM "${schema}"."${table}_signals" WHERE execution_id = NEW.id AND name <> 'flowmonkey.awaitEnd';
  IF coalesce(current_setting('flowmonkey.notify', true), '') <> 'off'
     AND EXISTS (SELECT 1 FROM "${schema}"."${table}_signals"
                 WHERE execution_id = NEW.id AND name = 'flowmonkey.awaitEnd') THEN
    PERFORM pg_notify('flowmonkey_end_' || TG_RELID::text, ':' || NEW.id);
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_notify_end" ON "${schema}"."${table}";
DROP TRIGGER IF EXISTS "${table}_signals_end" ON "${schema}"."${table}";
DROP FUNCTION IF EXISTS "${schema}"."${table}_notify_end"();
DROP FUNCTION IF EXISTS "${schema}"."${table}_signals_end"();

DROP TRIGGER IF EXISTS "${table}_ended" ON "${schema}"."${table}";
CREATE CONSTRAINT TRIGGER "${table}_ended"
  AFTER INSERT OR UPDATE OF status ON "${schema}"."${table}"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION "${schema}"."${table}_ended"();
