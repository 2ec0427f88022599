-- Elastic shards: a checkout's participants are computed from the participants' slot maps
-- (layers/sharding/slots.ts), passed in with the claim, so the log's participants are those the
-- checkout's prepares go to under the same maps. fnv1a and slot_owner must stay the functions of
-- layers/sharding (a test holds them equal).
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

-- The shard owning an id under a map {slotCount, initialShards, moved: {"slot": shard}}.
create or replace function slot_owner(id text, map jsonb) returns integer
language sql immutable strict parallel safe as $$
  select coalesce((map -> 'moved' ->> slot::text)::int, slot % (map ->> 'initialShards')::int)
  from (select (fnv1a(id) % (map ->> 'slotCount')::int)::int as slot) as of_id
$$;

create or replace function checkout_participants(items jsonb, user_id text, stock_map jsonb, payment_map jsonb)
returns text[]
language sql immutable strict parallel safe as $$
  select coalesce(array_agg('stock-' || shard order by shard), '{}') || ('payment-' || slot_owner(user_id, payment_map))
  from (select distinct slot_owner(item_id, stock_map) as shard from jsonb_object_keys(items) as item_id) as stock
$$;
