-- Elastic shards (layers/sharding/slots.ts). Every row knows its hash slot, so the rows of one
-- slot are found by index when the slot moves to another shard; the application writes it on
-- insert, and rows from before this version are filled in by slot adoption (layers/db/owned-slots.ts)
-- before the map is first published, since the slot count is the service's, not this shard's.
alter table items add column slot integer;
create index items_slot on items (slot);

-- FNV-1a as in layers/sharding/shard.ts (a unit test holds the two equal): fills in old rows.
create or replace function fnv1a(id text) returns bigint
language plpgsql immutable strict parallel safe as $$
declare
  bytes constant bytea := convert_to(id, 'UTF8');
  hash bigint := 2166136261;
begin
  for i in 0 .. length(bytes) - 1 loop
    -- Below 2^32 times a 25-bit prime stays within a bigint; the mask keeps the low 32 bits.
    hash := ((hash # get_byte(bytes, i)) * 16777619) & 4294967295;
  end loop;
  return hash;
end
$$;

-- The slots this shard owns: the truth the map is only a copy of. Work on a key checks its slot
-- here in the same local transaction (under a share lock), so a move that fences a slot waits
-- for the work in flight on it and everything after is refused as moved.
--   owned: this shard serves the slot; fenced: it is being handed over, refused here;
--   incoming: its rows are being copied in, refused here until the move makes it owned.
create table owned_slots (
  slot integer primary key,
  state text not null check (state in ('owned', 'fenced', 'incoming')),
  since_version integer not null
);

-- This shard's copy of its service's slot map, the newest it was told; the local stack restores
-- the published map from the newest copy among the shards when it starts.
create table slot_map (
  only_row boolean primary key default true check (only_row),
  version integer not null,
  map jsonb not null
);
