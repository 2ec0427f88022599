-- A safety net under every login of this database, the functions' own tighter bounds aside
-- (layers/db/bounded-locks.ts): no session waits for a lock, runs a statement, or sits inside a
-- transaction without bound, so a transaction someone forgets cannot hold locks for ever. A
-- deadlock across two servers is seen by neither server's detector; these bounds end it.
do $$
begin
  execute format('alter database %I set lock_timeout = %L', current_database(), '10s');
  execute format('alter database %I set statement_timeout = %L', current_database(), '120s');
  execute format('alter database %I set idle_in_transaction_session_timeout = %L', current_database(), '60s');
end
$$;
