import type postgres from 'postgres';

/**
 * Deletes up to `limit` participation records of transactions this shard has finished with
 * (committed or aborted, never one still holding a reservation) unchanged for `retentionMs`,
 * oldest first, skipping rows a batch holds. Returns how many went.
 *
 * Why a copy of an instruction that arrives after its record is gone cannot apply twice:
 * - a Prepare is refused once past its deadline by more than `LATE_PREPARE_MARGIN_MS`
 *   (`lateRefusal`), and the retention window is longer than that margin plus the longest
 *   checkout wait, counted from the record's last change, which came after the Prepare arrived;
 * - a Rollback with no record only leaves an `aborted` mark, taking and giving back nothing;
 * - a Commit with no record is a copy of one applied before the record went (the coordinator
 *   commits only after the yes vote stored with the record): acknowledged, taking nothing.
 * And the coordinator never needs the record again: it deletes its own log entry only after
 * every participant acknowledged the decision, and a record changes for the last time when its
 * decision is applied, before that acknowledgement.
 */
export async function forgetSettledParticipations(
  sql: postgres.Sql,
  { retentionMs, limit }: { readonly retentionMs: number; readonly limit: number },
): Promise<number> {
  const deleted = await sql`
    delete from participations
    where txn_id in (
      select txn_id from participations
      where state <> 'prepared' and updated_at < now() - ${retentionMs} * interval '1 millisecond'
      order by updated_at limit ${limit} for update skip locked)`;
  return deleted.count;
}
