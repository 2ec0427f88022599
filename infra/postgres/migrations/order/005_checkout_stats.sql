-- What the live view (GET /ops/summary) charts: decisions per second, by outcome, with a histogram
-- of how long each took from claim to decision. Written in the same local transaction as the
-- decisions, so the figures are the log's; the log itself is trimmed by retention, these are not.
--
-- One row per second and per backend: a connection runs one transaction at a time, so two
-- concurrent writers never update the same row and never wait for each other.
create table checkout_seconds (
  second timestamptz not null,
  writer integer not null,
  committed bigint not null default 0,
  refused bigint not null default 0,
  aborted bigint not null default 0,
  -- counts per latency bucket; bucket b holds (2^((b-1)/4), 2^(b/4)] ms, the last everything above
  latency bigint[] not null,
  primary key (second, writer)
);

-- Seconds older than the view's window are folded in here by the resolver, so the totals stay
-- exact and the table of seconds stays small.
create table checkout_totals (
  single boolean primary key default true check (single),
  committed bigint not null default 0,
  refused bigint not null default 0,
  aborted bigint not null default 0
);
insert into checkout_totals default values;

create function latency_bucket(ms float8) returns integer
language sql immutable strict parallel safe as $$
  select least(63, greatest(0, ceil(4 * ln(greatest(ms, 1)) / ln(2))::integer))
$$;

create function latency_histogram(ms float8[]) returns bigint[]
language sql immutable strict parallel safe as $$
  select array_agg(coalesce(counted.n, 0) order by bucket)
  from generate_series(0, 63) as bucket
  left join (select latency_bucket(m) as b, count(*) as n from unnest(ms) as m group by 1) as counted on counted.b = bucket
$$;

create function add_histograms(a bigint[], b bigint[]) returns bigint[]
language sql immutable strict parallel safe as $$
  select array_agg(x + y order by i) from unnest(a, b) with ordinality as t(x, y, i)
$$;
