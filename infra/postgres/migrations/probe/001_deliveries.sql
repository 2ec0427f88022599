-- Every batch the Kafka event source hands the probe function, as the handler saw it.
create table deliveries (
  id bigserial primary key,
  instance text not null,
  topic text not null,
  kafka_partition integer not null,
  kafka_offset bigint not null,
  record_key text,
  record_value text,
  event jsonb not null,
  received_at timestamptz not null default now()
);
create index deliveries_by_key on deliveries (record_key);
