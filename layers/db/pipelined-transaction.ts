import type postgres from 'postgres';

/** Statements built but not yet sent (postgres.js sends a query when it is first awaited or executed). */
export type PendingWrites = readonly postgres.PendingQuery<postgres.Row[]>[];

/**
 * How long one of these transactions may sit between statements before the server ends its
 * session. Between its read and its writes a healthy one waits milliseconds; one whose process
 * froze (a GC pause, a stopped VM, SIGSTOP) would otherwise hold its row locks for as long as the
 * freeze lasts, and every batch of the instance that took over its partitions would queue behind
 * them. Ended, it is rolled back, and its batch is delivered again (and answered from the records).
 */
export const IDLE_IN_TRANSACTION_LIMIT_MS = 2_000;

/**
 * A local transaction whose writes and COMMIT leave together: `sql.begin` would otherwise wait
 * for the writes before sending COMMIT. With BEGIN leaving with the reads (patches/postgres),
 * that is two round trips instead of four.
 *
 * `read` runs its statements inside the transaction and returns what the writes need; `write`
 * returns its statements unsent, so that they are sent in order and COMMIT strictly after them.
 * If a write fails, the server turns that COMMIT into a rollback (a transaction that had an error
 * cannot commit), and the write's error is thrown here; if a read fails, `sql.begin` rolls back.
 * Either way nothing is applied.
 */
export async function pipelinedTransaction<Read, Result>(
  sql: postgres.Sql,
  read: (tx: postgres.TransactionSql) => Promise<Read>,
  write: (tx: postgres.TransactionSql, read: Read) => { writes: PendingWrites; result: Result },
): Promise<Result> {
  let writes: PendingWrites = [];
  // Wrapped: sql.begin would await a result that is an array of promises.
  const { result } = await sql.begin(async (tx) => {
    // Not awaited: it leaves with BEGIN and the reads, in the same round trip; were it to fail,
    // the statements behind it fail too, and those are awaited.
    // No parameters, so it is never held back to be described first. 2 s: IDLE_IN_TRANSACTION_LIMIT_MS.
    tx`set local idle_in_transaction_session_timeout = 2000`.execute().catch(() => undefined);
    const built = write(tx, await read(tx));
    writes = built.writes;
    for (const statement of writes) statement.execute();
    return { result: built.result };
  });
  const failed = (await Promise.allSettled(writes)).find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return result;
}
