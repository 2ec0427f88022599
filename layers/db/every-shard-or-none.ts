import type postgres from 'postgres';
import { ConflictError } from '../errors';

/** One shard's part: `check` locks what `write` will change and names what forbids it, if anything. */
export interface ShardPart {
  readonly sql: postgres.Sql;
  readonly check: (tx: postgres.TransactionSql) => Promise<string | undefined>;
  readonly write: (tx: postgres.TransactionSql) => Promise<void>;
}

const DEADLOCK = '40P01';
const ATTEMPTS = 3;

/**
 * One local transaction per shard, all at once, each checking before it writes; no shard writes
 * until every shard's check has passed, so a refusal found on one shard changes nothing on any
 * (409 naming every refusal). A deadlock with the shop's own traffic is tried again.
 */
export async function everyShardOrNone(parts: readonly ShardPart[], refusal: (reasons: string[]) => string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await checkThenWrite(parts, refusal);
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK || attempt === ATTEMPTS) throw error;
    }
  }
}

async function checkThenWrite(parts: readonly ShardPart[], refusal: (reasons: string[]) => string): Promise<void> {
  const checks = parts.map(() => {
    let settle!: { resolve: (reason: string | undefined) => void; reject: (error: unknown) => void };
    const promise = new Promise<string | undefined>((resolve, reject) => (settle = { resolve, reject }));
    return { promise, ...settle };
  });
  const everyCheck = Promise.all(checks.map((check) => check.promise));
  everyCheck.catch(() => undefined);

  await Promise.all(
    parts.map((part, index) =>
      part.sql
        .begin(async (tx) => {
          checks[index]!.resolve(await part.check(tx));
          const reasons = (await everyCheck).filter((reason): reason is string => reason !== undefined);
          if (reasons.length > 0) throw new ConflictError(refusal(reasons));
          await part.write(tx);
        })
        // A shard that fails before its check has passed releases the others' wait.
        .catch((error: unknown) => {
          checks[index]!.reject(error);
          throw error;
        }),
    ),
  );
}
