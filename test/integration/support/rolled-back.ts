import type postgres from 'postgres';

class RolledBack extends Error {}

/**
 * Runs `work` in a transaction that is always rolled back, so a test can fill and change a
 * shard of the shared stack and leave it as it was; what `work` returns is handed back.
 */
export async function inRolledBackTransaction<T>(sql: postgres.Sql, work: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await sql
    .begin(async (tx) => {
      result = await work(tx);
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return result as T;
}
