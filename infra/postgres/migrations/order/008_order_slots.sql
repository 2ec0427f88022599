-- Elastic shards for the order service (layers/sharding/slots.ts): an order's slot is the hash of
-- its id, and its 2PC log entries live in the same slot, so a move carries an order with its
-- transactions. The application writes the slot on insert; rows from before this version are
-- filled in by slot adoption (layers/db/owned-slots.ts) before the map is first published.
alter table orders add column slot integer;
create index orders_slot on orders (slot);
alter table transactions add column slot integer;
create index transactions_slot on transactions (slot);

-- The slots this shard owns, as in the stock and payment databases: the truth the map is a copy of.
--   owned: this shard serves the slot; fenced: it is being handed over, refused here (decisions
--   and acknowledgements of its transactions still apply, so that they drain); incoming: its rows
--   are being copied in, refused here until the move makes it owned.
create table owned_slots (
  slot integer primary key,
  state text not null check (state in ('owned', 'fenced', 'incoming')),
  since_version integer not null
);

create table slot_map (
  only_row boolean primary key default true check (only_row),
  version integer not null,
  map jsonb not null
);

-- Whether this shard owns a slot, for a statement that goes on to start work on it: it takes the
-- slot's shared advisory lock (held to the end of the transaction, so a move's fence, which takes
-- it exclusively, waits for that work), and only then reads owned_slots. Volatile, so that read
-- has a snapshot of its own, taken after the lock: it sees a fence committed while it waited.
-- The lock's first key is layers/db/owned-slots.ts's SLOT_LOCKS.
create or replace function slot_owned_here(slot integer) returns boolean
language plpgsql volatile strict as $$
begin
  perform pg_advisory_xact_lock_shared(5310289, slot);
  return exists (select 1 from owned_slots where owned_slots.slot = slot_owned_here.slot and state = 'owned');
end
$$;

-- The live view's figures of order shards retired into this one (npm run shards -- remove), once
-- each, so that running the removal again never counts them twice.
create table absorbed_shards (
  shard integer primary key,
  absorbed_at timestamptz not null default now()
);
