-- The participants' slot maps this order shard learned from `moved` votes (layers/coordinator/learned-maps.ts):
-- a checkout refused as moved retries by the newest of these and the published map, which lags
-- a mover that holds maps back and stays behind for good when the mover dies before publishing.
create table learned_maps (
  service text primary key check (service in ('stock', 'payment')),
  version integer not null,
  map jsonb not null
);
