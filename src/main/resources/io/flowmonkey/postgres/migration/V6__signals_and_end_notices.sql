-- Named signals, buffered until a wait for their name consumes them, and notices of executions that
-- end. Signals live in a table of their own, written by INSERT (a sender) and DELETE (the save that
-- consumes one), so that sending a signal never updates, or waits for, the execution's row.
CREATE TABLE IF NOT EXISTS "${schema}"."${table}_signals" (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id TEXT NOT NULL,
  name TEXT NOT NULL,
  data JSONB NOT NULL DEFAULT '{}',
  sent_at BIGINT NOT NULL);

-- Finds the oldest signal of a name for an execution, and serves the worker's claim, which looks up
-- the signals awaited by waiting executions.
CREATE INDEX IF NOT EXISTS "idx_${table}_signals_target" ON "${schema}"."${table}_signals" (execution_id, name, id);

-- A signal tells listening workers that its execution may be due, on the channel and in the payload
-- format of V3 ("flowmonkey_<table OID>", ":<execution id>").
CREATE OR REPLACE FUNCTION "${schema}"."${table}_signals_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('flowmonkey.notify', true), '') <> 'off' THEN
    PERFORM pg_notify('flowmonkey_' || '"${schema}"."${table}"'::regclass::oid::text, ':' || NEW.execution_id);
  END IF;
  RETURN NULL;
END
$$;

-- A watch (see below) makes nothing due, so it wakes no worker.
DROP TRIGGER IF EXISTS "${table}_signals_notify" ON "${schema}"."${table}_signals";
CREATE TRIGGER "${table}_signals_notify"
  AFTER INSERT ON "${schema}"."${table}_signals"
  FOR EACH ROW
  WHEN (NEW.name <> 'flowmonkey.awaitEnd')
  EXECUTE FUNCTION "${schema}"."${table}_signals_notify"();

-- The signals of a deleted execution go with it. A trigger rather than a foreign key: a foreign key
-- would make every signal insert lock the execution's row against claims (FOR KEY SHARE against
-- FOR UPDATE), and would refuse a plain TRUNCATE of the executions table.
CREATE OR REPLACE FUNCTION "${schema}"."${table}_signals_cleanup"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "${schema}"."${table}_signals" WHERE execution_id = OLD.id;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_signals_cleanup" ON "${schema}"."${table}";
CREATE TRIGGER "${table}_signals_cleanup"
  AFTER DELETE ON "${schema}"."${table}"
  FOR EACH ROW
  EXECUTE FUNCTION "${schema}"."${table}_signals_cleanup"();

-- An execution saved in a terminal status is announced on "flowmonkey_end_<table OID>", payload
-- ":<id>", for callers of Engine.awaitEnd, but only while one of them watches it: each caller keeps a
-- signal named 'flowmonkey.awaitEnd' for the execution while it waits. A notice for every end would
-- make every terminal save queue a NOTIFY, and PostgreSQL lets only one transaction holding queued
-- notices commit at a time (see V4). Checked at commit (a deferred constraint trigger), so a watch
-- committed while the ending transaction ran is seen; opt out per session as in V3.
CREATE OR REPLACE FUNCTION "${schema}"."${table}_notify_end"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('flowmonkey.notify', true), '') <> 'off'
     AND EXISTS (SELECT 1 FROM "${schema}"."${table}_signals"
                 WHERE execution_id = NEW.id AND name = 'flowmonkey.awaitEnd') THEN
    PERFORM pg_notify('flowmonkey_end_' || TG_RELID::text, ':' || NEW.id);
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_notify_end" ON "${schema}"."${table}";
CREATE CONSTRAINT TRIGGER "${table}_notify_end"
  AFTER INSERT OR UPDATE OF status ON "${schema}"."${table}"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION "${schema}"."${table}_notify_end"();

-- Signals an execution did not consume before it ended can never be consumed: they go at the commit
-- of the save that ends it (deferred, so that the same transaction's consumption of a signal, which
-- follows the save, still finds the rows it deletes). Watches stay: their callers remove them, and
-- the notice above reads them at the same commit.
CREATE OR REPLACE FUNCTION "${schema}"."${table}_signals_end"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "${schema}"."${table}_signals" WHERE execution_id = NEW.id AND name <> 'flowmonkey.awaitEnd';
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "${table}_signals_end" ON "${schema}"."${table}";
CREATE CONSTRAINT TRIGGER "${table}_signals_end"
  AFTER INSERT OR UPDATE OF status ON "${schema}"."${table}"
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW
  WHEN (NEW.status IN ('completed', 'failed', 'cancelled'))
  EXECUTE FUNCTION "${schema}"."${table}_signals_end"();
