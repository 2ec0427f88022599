import type postgres from 'postgres';

/** Statements built but not yet sent (postgres.js sends a query when it is first awaited or executed). */
export type PendingWrites = readonly postgres.PendingQuery<postgres.Row[]>[];

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
    const built = write(tx, await read(tx));
    writes = built.writes;
    for (const statement of writes) statement.execute();
    return { result: built.result };
  });
  const failed = (await Promise.allSettled(writes)).find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return result;
}
