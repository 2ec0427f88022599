-- Whether this shard owns a slot, for a batch that goes on to work on it: it takes the slot's
-- shared advisory lock (held to the end of the transaction, so a move's fence, which takes it
-- exclusively, waits for that batch), and only then reads owned_slots. Volatile, so that read has
-- a snapshot of its own, taken after the lock: it sees a fence committed while it waited. One
-- statement where a lock statement and a read statement were needed. The lock's first key is
-- layers/db/owned-slots.ts's SLOT_LOCKS; the order database has the same function (order/008).
create or replace function slot_owned_here(slot integer) returns boolean
language plpgsql volatile strict as $$
begin
  perform pg_advisory_xact_lock_shared(5310289, slot);
  return exists (select 1 from owned_slots where owned_slots.slot = slot_owned_here.slot and state = 'owned');
end
$$;
