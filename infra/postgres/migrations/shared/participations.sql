-- This shard's side of every two-phase commit it took part in: the record that makes each
-- instruction apply at most once, and what a prepare reserved so a rollback can give it back.
create table participations (
  txn_id text primary key,
  state text not null check (state in ('prepared', 'committed', 'aborted')),
  refusal text,
  held jsonb not null default '[]',
  updated_at timestamptz not null default now()
);
