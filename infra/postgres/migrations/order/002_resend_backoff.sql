-- The resolver sends an unacknowledged decision again with a growing pause per transaction, so a
-- lagging participant is not buried under duplicates, and it takes the most overdue first, so
-- decisions that are never acknowledged cannot starve newer ones. The next resend is due a base
-- pause (the resolver's setting) after resend_clock, or after decided_at before the first.
alter table transactions
  add column resends integer not null default 0,
  add column resend_clock timestamptz;

drop index transactions_unacknowledged;
create index transactions_unacknowledged on transactions ((coalesce(resend_clock, decided_at)))
  where state <> 'preparing' and completed_at is null;
