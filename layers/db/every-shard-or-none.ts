import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { ConflictError, OutcomeUnknownError, UnavailableError } from '../errors';
import { LOCK_NOT_AVAILABLE } from './bounded-locks';
import { lostInFlight } from './write-outcome';

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
 * every refusal). Then each part is prepared (PREPARE TRANSACTION), and only once every part is,
 * the lowest shard's commits with the call's row in `spanning_commits`: that commit decides, the
 * others follow. A failure before it rolls every part back; a caller gone after it leaves parts
 * that `settleSpanningOrphans` commits, and gone before it, parts it rolls back. A commit that got
 * no answer is `OutcomeUnknownError`, never "nothing changed".
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
  const run = randomUUID();
  const gidOf = (shard: number) => spanningGid(run, parts[0]!.shard, shard);
  const checks = parts.map(() => deferred<string | undefined>());
  const everyCheck = Promise.all(checks.map((check) => check.promise));
  everyCheck.catch(() => undefined);

  // Each part keeps its own connection from BEGIN to COMMIT PREPARED: back in the pool between
  // PREPARE and COMMIT, it was taken by statements waiting on the prepared part's rows, and the
  // COMMIT that would end their wait queued behind them (storm.test: calls of 15 s and more).
  const sessions: postgres.ReservedSql[] = [];
  const transactions: Promise<void>[] = [];
  for (const [index, part] of parts.entries()) {
    const transaction = inTransactionToPrepare(
      part.sql,
      gidOf(part.shard),
      async (session) => {
        sessions[index] = session;
        if (index === 0) await session`select pg_advisory_lock(${callerLock(run)}::bigint)`;
      },
      async (tx) => {
        await tx`select set_config('lock_timeout', ${`${SPANNING_LOCK_WAIT_MS}ms`}, true),
                        set_config('idle_in_transaction_session_timeout', ${`${SPANNING_IDLE_MS}ms`}, true)`;
        await tx`select pg_advisory_xact_lock(${SHARD_SPANNING_LOCK}, 0)`;
        checks[index]!.resolve(await part.check(tx));
        const reasons = (await everyCheck).filter((reason): reason is string => reason !== undefined);
        if (reasons.length > 0) throw new ConflictError(refusal(reasons));
        await part.write(tx);
        // The lowest shard's part carries the decision: once it commits, its row says every part does.
        if (index === 0) await tx`insert into spanning_commits (id) values (${run})`;
      },
    )
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
  try {
    await settle(parts, sessions, transactions, gidOf);
  } finally {
    const lowest = sessions[0];
    if (lowest) await lowest`select pg_advisory_unlock(${callerLock(run)}::bigint)`.catch(() => undefined);
    for (const session of sessions) session?.release();
  }
}

/** Runs `body` in a transaction on a connection of its own (handed to `hold` first), and prepares it as `gid`. */
async function inTransactionToPrepare(
  sql: postgres.Sql,
  gid: string,
  hold: (session: postgres.ReservedSql) => Promise<void>,
  body: (tx: postgres.TransactionSql) => Promise<void>,
): Promise<void> {
  const session = await sessionOf(sql);
  await hold(session);
  await session`begin`;
  try {
    // A reserved connection runs statements as a transaction's does; postgres.js only types `begin`'s.
    await body(session as unknown as postgres.TransactionSql);
    await session.unsafe(`prepare transaction '${gid}'`);
  } catch (error) {
    await session`rollback`.catch(() => undefined);
    throw error;
  }
}

/** Each shard's pool of one connection for calls spanning shards, beside the pool everything else shares. */
const spanningPools = new WeakMap<postgres.Sql, postgres.Sql>();

/** Seconds an idle spanning connection is kept: a call is rare, and on Lambda each connection counts against the shard's limit. */
const SPANNING_IDLE_S = 10;

/**
 * A connection for one part of a call spanning shards, kept from BEGIN to COMMIT PREPARED, from a
 * pool of its own: from the shared pool, `reserve()` waited until a connection had nothing in
 * flight, which under load (every busy connection taking more pipelined statements) took until
 * the function timed out (28 s); and given back between PREPARE and COMMIT PREPARED, its COMMIT
 * queued behind statements waiting on the prepared rows. Past `SPANNING_LOCK_WAIT_MS` (another
 * call holds it) the call changes nothing and is refused as a lock wait is.
 */
async function sessionOf(sql: postgres.Sql): Promise<postgres.ReservedSql> {
  let pool = spanningPools.get(sql);
  if (!pool) {
    // As postgres.js makes its own subscription pool: the same parsed options, fewer connections.
    pool = postgres({ ...(sql.options as unknown as postgres.Options<Record<string, never>>), max: 1, idle_timeout: SPANNING_IDLE_S });
    spanningPools.set(sql, pool);
  }
  const reserving = pool.reserve();
  let timer: NodeJS.Timeout | undefined;
  const session = await Promise.race([
    reserving,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SPANNING_LOCK_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (session) return session;
  void reserving.then((late) => late.release());
  throw Object.assign(new Error(`no spanning connection free within ${SPANNING_LOCK_WAIT_MS} ms`), { code: LOCK_NOT_AVAILABLE });
}

/** Commits the prepared parts, the lowest (which decides) first, or rolls them all back when one failed. */
async function settle(
  parts: readonly ShardPart[],
  sessions: readonly postgres.ReservedSql[],
  transactions: readonly Promise<void>[],
  gidOf: (shard: number) => string,
): Promise<void> {
  const prepared = await Promise.allSettled(transactions);
  const failure = prepared.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure || prepared.length < parts.length) {
    // Nothing is committed: every part that prepared is rolled back (one that cannot be reached now, by `settleSpanningOrphans`).
    await Promise.all(
      prepared.map((outcome, index) =>
        outcome.status === 'fulfilled'
          ? finishPrepared(sessions[index]!, 'rollback', gidOf(parts[index]!.shard)).catch(() => undefined)
          : undefined,
      ),
    );
    // Nothing was decided, so nothing is ever committed: a connection lost on the way says so.
    if (lostInFlight(failure?.reason))
      throw new UnavailableError(
        'batch_init lost a connection to a shard before it decided: nothing was written (a part left prepared is rolled back within a minute); retry',
        { cause: failure!.reason },
      );
    throw failure?.reason;
  }
  const [lowest, ...others] = parts;
  try {
    await finishPrepared(sessions[0]!, 'commit', gidOf(lowest!.shard));
  } catch (error) {
    throw new OutcomeUnknownError(
      `batch_init was prepared on every shard, and the commit on shard ${lowest!.shard}, which decides it, got no answer: ` +
        'it is settled within a minute (all committed or none); send it again then, or read first',
      { cause: error },
    );
  }
  const commits = await Promise.allSettled(others.map((part, index) => finishPrepared(sessions[index + 1]!, 'commit', gidOf(part.shard))));
  const behind = commits.flatMap((outcome, index) => (outcome.status === 'rejected' ? [others[index]!.shard] : []));
  if (behind.length > 0) {
    throw new OutcomeUnknownError(
      `batch_init is committed, but shard${behind.length === 1 ? '' : 's'} ${behind.join(', ')} did not answer its commit: ` +
        'its rows there become visible when it is settled, within a minute',
      { cause: (commits.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult).reason },
    );
  }
}

/** The name of one shard's prepared part of a call spanning shards: the call, its lowest shard (which decides it), this shard. */
export const SPANNING_GID = 'spanning';
export const spanningGid = (run: string, lowest: number, shard: number) => `${SPANNING_GID}:${run}:${lowest}:${shard}`;

/**
 * The session advisory lock (one 64-bit key, a space apart from the two-key locks) that a call
 * holds on its lowest shard from before its first part begins until its last commit or rollback
 * was answered: while it is held the call may still decide; once it is free, its caller is gone
 * (a dead process's sessions end with it) and what it left prepared is an orphan.
 */
export const callerLock = (run: string): string => BigInt.asIntN(64, BigInt(`0x${run.replaceAll('-', '').slice(0, 16)}`)).toString();

/** COMMIT or ROLLBACK PREPARED; the name is ours (a UUID and shard numbers), never input. */
export async function finishPrepared(sql: postgres.Sql | postgres.ReservedSql, how: 'commit' | 'rollback', gid: string): Promise<void> {
  await sql.unsafe(`${how} prepared '${gid}'`);
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
  const promise = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  return { promise, ...settle };
}
