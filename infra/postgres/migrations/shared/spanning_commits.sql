-- The decisions of calls spanning shards (layers/db/every-shard-or-none.ts): each shard's part is
-- prepared (PREPARE TRANSACTION), then the lowest shard's part commits first, with its row here;
-- a part a crash left prepared is committed if its call's row is on that lowest shard, rolled
-- back if not (`settleSpanningOrphans`). Kept a day.
create table spanning_commits (
  id text primary key,
  at timestamptz not null default now()
);
