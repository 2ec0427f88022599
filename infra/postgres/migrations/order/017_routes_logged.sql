-- A checkout's routing, logged once with its transaction: each item's stock shard and the user's
-- payment shard, as the claim computed them under the maps `routed_by` names. Every prepare of the
-- transaction (its first send, a joining checkout's) is built from this record, and the
-- participants are read from it, so there is one routing, not one here and one in the code.
alter table transactions add column routes jsonb;

-- plpgsql, as checkout_participants (013): its statements' plans are kept for the session.
create or replace function checkout_routes(
  items jsonb, user_id text,
  stock_slots integer, stock_initial integer, stock_owners integer[],
  payment_slots integer, payment_initial integer, payment_owners integer[])
returns jsonb
language plpgsql immutable strict parallel safe as $$
begin
  return jsonb_build_object(
    'stock', (select coalesce(jsonb_object_agg(item_id, slot_owner(item_id, stock_slots, stock_initial, stock_owners)), '{}'::jsonb)
              from jsonb_object_keys(items) as item_id),
    'payment', slot_owner(user_id, payment_slots, payment_initial, payment_owners));
end
$$;

-- The participants a routing asks: its stock shards in shard order, then the payment shard.
create or replace function routes_participants(routes jsonb)
returns text[]
language plpgsql immutable strict parallel safe as $$
begin
  return (
    select coalesce(array_agg('stock-' || shard order by shard), '{}') || ('payment-' || (routes->>'payment'))
    from (select distinct value::int as shard from jsonb_each_text(routes->'stock')) as stock);
end
$$;
