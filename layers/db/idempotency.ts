import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { IdempotencyInFlightError, IdempotencyKeyReusedError, UnavailableError } from '../errors';
import { LOCK_NOT_AVAILABLE } from './bounded-locks';
import { ownsForWriting } from './owned-slots';
import { SlotMovedError } from './shards';
import { transactionOrUnknown, writeOrUnknown } from './write-outcome';

/** A client's Idempotency-Key for one write, and the fingerprint of the request it came with. */
export interface WriteKey {
  readonly key: string;
  readonly fingerprint: string;
}

/** What a write answered, and whether this is a retry given the first reply again. */
export interface Written<T> {
  readonly value: T;
  readonly replayed: boolean;
}

/** The row a keyed write writes: its key is scoped to it, and lives in its slot. */
export interface WrittenRow {
  readonly id: string;
  readonly slot: number;
  /** for messages: "the change of user 42" */
  readonly what: string;
}

/** Thrown inside the transaction to roll back a key whose write its own conditions refused. */
class Refused extends Error {
  override readonly name = 'Refused';
}

/**
 * Runs a write at most once per Idempotency-Key. Without a key it runs as it is (a connection lost
 * with it in flight: `OutcomeUnknownError`). With one, the key, the request's fingerprint and the
 * write's result are stored in the same local transaction as the write, on the shard that owns the
 * written row, so no crash can leave one without the other: a retry finds the key and gets the
 * first result (`replayed`), writing nothing; a different request with the same key is refused
 * (422); a retry while the first still runs waits for it behind the key's index entry, and past
 * the lock bound is told to come back (409). `write` returns undefined when its own conditions
 * refused it: then the key is not kept either, and undefined is returned.
 */
export async function writeOnce<T>(
  sql: postgres.Sql,
  row: WrittenRow,
  key: WriteKey | undefined,
  write: (sql: postgres.Sql | postgres.TransactionSql) => Promise<T | undefined>,
): Promise<Written<T> | undefined> {
  if (!key) {
    const value = await writeOrUnknown(row.what, () => write(sql));
    return value === undefined ? undefined : { value, replayed: false };
  }
  try {
    return await transactionOrUnknown(sql, row.what, async (tx) => {
      const prior = await claim(tx, row, key);
      if (prior) return prior as Written<T>;
      const value = await write(tx);
      if (value === undefined) throw new Refused();
      await tx`update idempotency_keys set result = ${tx.json(value as never)}
               where written_id = ${row.id} and idempotency_key = ${key.key}`;
      return { value, replayed: false };
    });
  } catch (error) {
    if (error instanceof Refused) return undefined;
    throw error;
  }
}

/**
 * Claims the key for this write, or finds the write that claimed it first: its result, to be
 * given again. A key claimed by a transaction still running is waited for (its index entry is
 * locked until it ends), then found or free.
 */
async function claim(tx: postgres.TransactionSql, row: WrittenRow, key: WriteKey): Promise<Written<unknown> | undefined> {
  let claimed: postgres.RowList<postgres.Row[]>;
  try {
    claimed = await tx`
      insert into idempotency_keys (written_id, idempotency_key, fingerprint, slot)
      select ${row.id}, ${key.key}, ${key.fingerprint}, ${row.slot} where ${ownsForWriting(tx, row.slot)}
      on conflict (written_id, idempotency_key) do nothing
      returning 1`;
  } catch (error) {
    if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) throw error;
    throw new IdempotencyInFlightError(`the first request with this Idempotency-Key (${row.what}) is still running; retry in a moment`);
  }
  if (claimed.count === 1) return undefined;
  const [prior] = await tx<{ owned: boolean; fingerprint: string | null; result: unknown }[]>`
    select ${ownsForWriting(tx, row.slot)} as owned, fingerprint, result
    from (select 1) as one left join idempotency_keys on written_id = ${row.id} and idempotency_key = ${key.key}`;
  if (!prior!.owned) throw new SlotMovedError(row.what);
  // Gone between the two statements: retention, which keeps a key a day; the retry will claim it.
  if (prior!.fingerprint === null) throw new UnavailableError(`the Idempotency-Key of ${row.what} was being forgotten; retry`);
  if (prior!.fingerprint !== key.fingerprint)
    throw new IdempotencyKeyReusedError(
      `this Idempotency-Key was first sent with another request (${row.what}); use a new key for a new request`,
    );
  return { value: prior!.result, replayed: true };
}

/**
 * The id a create gives the row it makes, drawn from its Idempotency-Key, so that a retry names
 * the same row (and finds the key beside it): a UUID of the key's SHA-256 (version 8, RFC 9562),
 * apart per kind of row.
 */
export function idForKey(kind: string, key: string): string {
  const bytes = createHash('sha256').update(`${kind}\u0000${key}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Deletes up to `limit` keys older than `retentionMs`, oldest first, skipping any a write holds.
 * A retry after that is a new request: the window (a day at least) is far longer than any client retries.
 */
export async function forgetOldKeys(sql: postgres.Sql, { retentionMs, limit }: { readonly retentionMs: number; readonly limit: number }) {
  const deleted = await sql`
    delete from idempotency_keys
    where (written_id, idempotency_key) in (
      select written_id, idempotency_key from idempotency_keys
      where created_at < now() - ${retentionMs} * interval '1 millisecond'
      order by created_at limit ${limit} for update skip locked)`;
  return deleted.count;
}
