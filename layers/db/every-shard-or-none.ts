import type postgres from 'postgres';
import { ConflictError } from '../errors';
import { LOCK_NOT_AVAILABLE } from './bounded-locks';

/** One shard's part: `check` locks what `write` will change and names what forbids it, if anything. */
export interface ShardPart {
  /** The shard's number: shards are locked in ascending order of it. */
  readonly shard: number;
  readonly sql: postgres.Sql;
  readonly check: (tx: postgres.TransactionSql) => Promise<string | undefined>;
  readonly write: (tx: postgres.TransactionSql) => Promise<void>;
}

const DEADLOCK = '40P01';
const ATTEMPTS = 3;

/**
 * The advisory lock (first key; the second is 0) that a call spanning shards takes on each shard
 * before its check: of the number space of `SLOT_LOCKS` (owned-slots.ts), one apart.
 */
export const SHARD_SPANNING_LOCK = 0x510753;

/**
 * How long a shard's part waits for a lock (another call spanning the shards, or a checkout's
 * batch on its rows) before the whole call gives up, changing nothing: 409, try again.
 */
export const SPANNING_LOCK_WAIT_MS = 5_000;

/**
 * A call over every slot meets a slot move far more often than a call on one key, and each try
 * takes seconds on large tables: it is tried again on newer routes only within this much time.
 */
export const SPANNING_RETRY_BUDGET_MS = 6_000;

/**
 * One local transaction per shard, each checking before it writes; no shard writes until every
 * shard's check has passed, so a refusal found on one shard changes nothing on any (409 naming
 * every refusal).
 *
 * A transaction holds its shard's locks while the next shards check, so the shards are locked
 * one after the other in ascending order, each first taking `SHARD_SPANNING_LOCK`: two such calls
 * then queue on the first shard they share instead of each holding a shard the other waits for,
 * a deadlock across two servers that neither server's detector sees. Every wait for a lock is
 * bounded (`SPANNING_LOCK_WAIT_MS`); past it the call changes nothing and answers 409.
 */
export async function everyShardOrNone(parts: readonly ShardPart[], refusal: (reasons: string[]) => string): Promise<void> {
  const ordered = [...parts].sort((a, b) => a.shard - b.shard);
  for (let attempt = 1; ; attempt++) {
    try {
      return await checkThenWrite(ordered, refusal);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === LOCK_NOT_AVAILABLE) {
        throw new ConflictError(
          refusal([
            `its rows stayed locked for over ${SPANNING_LOCK_WAIT_MS / 1000} s by another batch_init of the same service or by checkouts in flight`,
          ]),
          { cause: error },
        );
      }
      if (code !== DEADLOCK || attempt === ATTEMPTS) throw error;
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

  const transactions: Promise<void>[] = [];
  for (const [index, part] of parts.entries()) {
    const transaction = part.sql
      .begin(async (tx) => {
        await tx`select set_config('lock_timeout', ${`${SPANNING_LOCK_WAIT_MS}ms`}, true)`;
        await tx`select pg_advisory_xact_lock(${SHARD_SPANNING_LOCK}, 0)`;
        checks[index]!.resolve(await part.check(tx));
        const reasons = (await everyCheck).filter((reason): reason is string => reason !== undefined);
        if (reasons.length > 0) throw new ConflictError(refusal(reasons));
        await part.write(tx);
      })
      // A shard that fails before its check has passed releases the others' wait.
      .catch((error: unknown) => {
        checks[index]!.reject(error);
        throw error;
      });
    transaction.catch(() => undefined);
    transactions.push(transaction);
    // The next shard is locked only once this one is locked and checked.
    const checked = await checks[index]!.promise.then(
      () => true,
      () => false,
    );
    if (!checked) break;
  }
  await Promise.all(transactions);
}
