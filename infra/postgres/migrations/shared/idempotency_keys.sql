-- Idempotency keys (layers/db/idempotency.ts): a client's key for a write, stored in the same
-- local transaction as the write, beside the row it wrote, so a retry finds it wherever that row
-- is. A key is scoped to what it wrote (`written_id`); its slot is that row's, so it moves with it.
-- `result` is what the write answered, returned again to a retry; `fingerprint` tells a retry from
-- another request sent with the same key.
create table idempotency_keys (
  written_id text not null,
  idempotency_key text not null,
  fingerprint text not null,
  result jsonb,
  slot integer not null,
  created_at timestamptz not null default now(),
  primary key (written_id, idempotency_key)
);
create index idempotency_keys_slot on idempotency_keys (slot);
-- Retention deletes the oldest first, in bounded batches.
create index idempotency_keys_created_at on idempotency_keys (created_at);
