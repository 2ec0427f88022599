-- The live view reads what a shard holds prepared every few seconds: this index holds only the
-- records of transactions in flight, so that read costs what is in flight, not the whole table.
create index participations_prepared on participations (txn_id) where state = 'prepared';
