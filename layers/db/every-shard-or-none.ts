import type postgres from 'postgres';
import { ConflictError, OutcomeUnknownError } from '../errors';
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
 * How long a shard's transaction may sit idle while the other shards check and write: longer than
 * a function may run (28 s), so that no server ends a waiting shard's part while the others go on
 * (the functions' own bound, 10 s, did, and the other shards then committed alone). A function
 * that dies meanwhile takes its connections along, and every shard rolls back.
 */
export const SPANNING_IDLE_MS = 30_000;

/**
 * A call over every slot meets a slot move far more often than a call on one key, and each try
 * takes seconds on large tables: it is tried again on newer routes only within this much time.
 */
export const SPANNING_RETRY_BUDGET_MS = 6_000;

/**
 * One local transaction per shard, each checking before it writes; no shard writes until every
 * shard's check has passed, so a refusal found on one shard changes nothing on any (409 naming
 * every refusal), and no shard commits until every shard has written, so a failure anywhere
 * before that rolls every shard back. Only the commits themselves can part ways (a connection
 * lost, a server gone between two COMMITs): then the call says which shards committed and that
 * the outcome is partial (`OutcomeUnknownError`), never that nothing changed.
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
  const checks = parts.map(() => deferred<string | undefined>());
  const everyCheck = Promise.all(checks.map((check) => check.promise));
  everyCheck.catch(() => undefined);
  const writes = parts.map(() => deferred<void>());
  const everyWrite = Promise.all(writes.map((write) => write.promise));
  everyWrite.catch(() => undefined);
  const committing = parts.map(() => false);

  const transactions: Promise<void>[] = [];
  for (const [index, part] of parts.entries()) {
    const transaction = part.sql
      .begin(async (tx) => {
        await tx`select set_config('lock_timeout', ${`${SPANNING_LOCK_WAIT_MS}ms`}, true),
                        set_config('idle_in_transaction_session_timeout', ${`${SPANNING_IDLE_MS}ms`}, true)`;
        await tx`select pg_advisory_xact_lock(${SHARD_SPANNING_LOCK}, 0)`;
        checks[index]!.resolve(await part.check(tx));
        const reasons = (await everyCheck).filter((reason): reason is string => reason !== undefined);
        if (reasons.length > 0) throw new ConflictError(refusal(reasons));
        await part.write(tx);
        writes[index]!.resolve();
        await everyWrite;
        committing[index] = true;
      })
      // A shard that fails before it has written releases the others' waits, and they roll back.
      .catch((error: unknown) => {
        checks[index]!.reject(error);
        writes[index]!.reject(error);
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
  const settled = await Promise.allSettled(transactions);
  const failed = settled.flatMap((outcome, index) => (outcome.status === 'rejected' ? [{ index, error: outcome.reason as unknown }] : []));
  if (failed.length === 0) return;
  const committed = settled.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [parts[index]!.shard] : []));
  const unknown = failed.filter(({ index }) => committing[index]).map(({ index }) => parts[index]!.shard);
  if (committed.length === 0 && unknown.length === 0) throw failed[0]!.error;
  const notCommitted = failed.filter(({ index }) => !committing[index]).map(({ index }) => parts[index]!.shard);
  throw new OutcomeUnknownError(
    `batch_init committed on shard${committed.length === 1 ? '' : 's'} ${committed.join(', ') || 'none'}` +
      (unknown.length ? `, may have on ${unknown.join(', ')}` : '') +
      (notCommitted.length ? `, not on ${notCommitted.join(', ')}` : '') +
      ': those rows are partly set; send it again (it sets the same rows to the same values)',
    { cause: failed[0]!.error },
  );
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
  const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  return { promise, ...settle };
}
