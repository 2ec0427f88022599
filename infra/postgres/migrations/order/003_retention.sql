-- Finished transactions are deleted once past the retention window, oldest first.
create index transactions_completed on transactions (completed_at) where completed_at is not null;
