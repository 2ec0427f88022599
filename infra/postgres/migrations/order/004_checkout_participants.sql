-- A checkout reads, claims and logs its order in one statement, so the log's participants are
-- computed here from the order as claimed. shard_of must stay the same function as
-- layers/sharding/shard.ts (FNV-1a over the id's UTF-8 bytes, modulo the count); a test holds
-- the two equal.
create or replace function shard_of(id text, shard_count integer) returns integer
language plpgsql immutable strict parallel safe as $$
declare
  bytes constant bytea := convert_to(id, 'UTF8');
  hash bigint := 2166136261;
begin
  for i in 0 .. length(bytes) - 1 loop
    -- Below 2^32 times a 25-bit prime stays within a bigint; the mask keeps the low 32 bits.
    hash := ((hash # get_byte(bytes, i)) * 16777619) & 4294967295;
  end loop;
  return hash % shard_count;
end
$$;

-- As routing.ts's prepareInstructions: each stock shard holding an item, in shard order, then
-- the user's payment shard.
create or replace function checkout_participants(items jsonb, user_id text, stock_shards integer, payment_shards integer)
returns text[]
language sql immutable strict parallel safe as $$
  select coalesce(array_agg('stock-' || shard order by shard), '{}') || ('payment-' || shard_of(user_id, payment_shards))
  from (select distinct shard_of(item_id, stock_shards) as shard from jsonb_object_keys(items) as item_id) as stock
$$;
