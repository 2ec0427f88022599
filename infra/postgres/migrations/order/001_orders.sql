-- items: {"<item_id>": quantity}. checkout_txn: the transaction deciding this order right now;
-- while it is set the order cannot change, and a second checkout joins that transaction.
create table orders (
  order_id text primary key,
  user_id text not null,
  paid boolean not null default false,
  total_cost bigint not null default 0 check (total_cost between 0 and 9007199254740991),
  items jsonb not null default '{}',
  checkout_txn text
);

-- The coordinator's two-phase commit log. The decision (state) is written before any decision
-- is sent; yes and acked collect the participants' votes and acknowledgements.
create table transactions (
  txn_id text primary key,
  order_id text not null,
  state text not null check (state in ('preparing', 'committed', 'aborted')),
  participants text[] not null,
  yes text[] not null default '{}',
  acked text[] not null default '{}',
  abort_reason text,
  abort_detail text,
  deadline timestamptz not null,
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  completed_at timestamptz
);
create index transactions_undecided on transactions (deadline) where state = 'preparing';
create index transactions_unacknowledged on transactions (decided_at) where state <> 'preparing' and completed_at is null;
create index transactions_by_order on transactions (order_id);
