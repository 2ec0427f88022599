import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors';
import { groupByShard } from '../sharding/shard';
import { everyShardOrNone, SPANNING_RETRY_BUDGET_MS } from './every-shard-or-none';
import { idForKey, type WriteKey, type Written, writeOnce } from './idempotency';
import { ownsAllSlots, ownsForReading, ownsForWriting, updateIfOwned } from './owned-slots';
import { onOwner, type ShardSet, SlotMovedError, withNewerRoutes } from './shards';

/** A table of balances kept within [0, 2^53-1]: stock per item, credit per user. */
export interface BalanceTable {
  readonly table: 'items' | 'users';
  readonly id: 'item_id' | 'user_id';
  readonly balance: 'stock' | 'credit';
  /** the noun for messages: "item", "user" */
  readonly noun: string;
  /** "has 3 in stock, fewer than the 5 asked for" */
  readonly shortfall: (balance: number, wanted: number) => string;
}

export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/** The statements every balance table shares; each takes the shards, then its arguments. */
export interface BalanceRepository<Column extends string> {
  /**
   * Inserts one row with a new id in the shard that id hashes to; returns the id. With an
   * Idempotency-Key the id is drawn from the key, and a retry returns the same one (`writeOnce`).
   */
  create(shards: ShardSet, row: Readonly<Record<Column, number>>, key?: WriteKey): Promise<Written<string>>;
  /** The row's columns as numbers, or a 404 naming it. */
  find<Picked extends Column | 'held'>(
    shards: ShardSet,
    lookup: { readonly id: string; readonly columns: readonly Picked[] },
  ): Promise<Record<Picked, number>>;
  /**
   * Adds (positive `delta`) or takes (negative) in one statement, so concurrent changes never lose
   * an update. What checkouts hold in escrow counts toward the upper bound: it may come back. A
   * change that would leave the free balance below 0, or free plus held above 2^53-1, changes
   * nothing and is refused with 409 (404 when the row does not exist). Returns the new balance;
   * with an Idempotency-Key, at most once (`writeOnce`).
   */
  adjust(shards: ShardSet, change: { readonly id: string; readonly delta: number }, key?: WriteKey): Promise<Written<number>>;
  /**
   * Creates or overwrites rows "0" … "n-1" with the same values: one multi-row upsert per slice,
   * all of a shard's slices in one transaction, the shards at once; 100,000 rows take seconds.
   *
   * The rows are locked first, in id order as every checkout's batch locks them, so the two never
   * deadlock. A row holding what a checkout in flight reserved is not overwritten: its rollback
   * would give back onto the new value. Then nothing is changed, on any shard, and 409 says which.
   */
  batchInit(shards: ShardSet, init: { readonly count: number; readonly values: Readonly<Record<Column, number>> }): Promise<void>;
}

const SLICE = 50_000;

export function balanceRepository<Column extends string>(spec: BalanceTable): BalanceRepository<Column> {
  // postgres.js types its helpers by the object's exact shape; the columns are checked by the interface above.
  const columnsOf = (values: Readonly<Record<string, number>>): Record<string, number> => ({ ...values });
  // Every statement on a key checks, in the same statement (and, when it writes, under the
  // slot's shared lock, which a move's fence waits for), that its shard owns the key's slot; else
  // SlotMovedError, and `onOwner` tries again on the owner a newer map names.
  const find: BalanceRepository<Column>['find'] = (shards, { id, columns }) =>
    onOwner(shards, id, async (sql, slot) => {
      const [row] = await sql<(Record<string, string> & { owned: boolean; found: boolean })[]>`
        select ${sql(columns as readonly string[])}, ${sql(spec.table)}.${sql(spec.id)} is not null as found,
               ${ownsForReading(sql, slot)} as owned
        from (select 1) as one left join ${sql(spec.table)} on ${sql(spec.id)} = ${id}`;
      if (!row!.owned) throw new SlotMovedError(`${spec.noun} ${id}`);
      if (!row!.found) throw new NotFoundError(`${spec.noun} ${id} not found`, { code: `${spec.noun}_not_found` });
      return Object.fromEntries(columns.map((column) => [column, Number(row![column])])) as Record<(typeof columns)[number], number>;
    });

  return {
    async create(shards, row, key) {
      const id = key ? idForKey(spec.table, key.key) : randomUUID();
      const created = await onOwner(shards, id, (sql, slot) =>
        writeOnce(sql, { id, slot, what: `the new ${spec.noun}` }, key, async (tx) => {
          const values = { ...columnsOf(row), [spec.id]: id, slot } as Record<string, number | string>;
          const inserted = await tx`
            insert into ${tx(spec.table)} (${tx(Object.keys(values))})
            select ${tx(values)} where ${ownsForWriting(tx, slot)}`;
          if (inserted.count === 0) throw new SlotMovedError(`new ${spec.noun} ${id}`);
          return id;
        }),
      );
      return created!;
    },

    find,

    async adjust(shards, { id, delta }, key) {
      const changed = await onOwner(shards, id, (sql, slot) =>
        writeOnce(sql, { id, slot, what: `the change of ${spec.noun} ${id}` }, key, async (tx) => {
          const balance = tx(spec.balance);
          const row = await updateIfOwned<{ balance: number }>(
            tx,
            slot,
            `${spec.noun} ${id}`,
            (owned) => tx`
            update ${tx(spec.table)} set ${balance} = ${balance} + ${delta}
            where ${tx(spec.id)} = ${id} and ${balance} + ${delta} >= 0 and ${balance} + held + ${delta} <= ${MAX_AMOUNT}
              and ${owned}
            returning ${balance}::float8 as balance`,
          );
          return row?.balance;
        }),
      );
      if (changed) return changed;
      // Not changed on the shard that owns it: missing, or refused by its bounds (find says which).
      const current = await find(shards, { id, columns: [spec.balance as Column, 'held'] });
      const free = current[spec.balance as Column];
      throw new ConflictError(
        delta < 0
          ? `${spec.noun} ${id} ${spec.shortfall(free, -delta)}`
          : `adding ${delta} to ${spec.noun} ${id} would exceed the largest ${spec.balance}, ${MAX_AMOUNT}: it has ${free}` +
              (current.held ? `, and ${current.held} more is held by checkouts in flight and may come back` : ''),
        { code: delta < 0 ? `insufficient_${spec.balance}` : 'amount_too_large' },
      );
    },

    async batchInit(routes, { count, values }) {
      const ids = Array.from({ length: count }, (_, index) => String(index));
      await withNewerRoutes(
        routes,
        (shards) =>
          everyShardOrNone(
            [...groupByShard(ids, (id) => id, shards.ownerOf)].map(([shard, shardIds]) => ({
              shard,
              sql: shards.at(shard),
              async check(sql) {
                if (!(await ownsAllSlots(sql, [...new Set(shardIds.map(shards.slotOf))])))
                  throw new SlotMovedError(`one of the ${shardIds.length} rows of shard ${shard}`);
                const [held] = await sql<[{ rows: number; examples: string[] | null }]>`
              with locked as (
                select ${sql(spec.id)} as id, held from ${sql(spec.table)}
                where ${sql(spec.id)} = any(${sql.array(shardIds)}::text[]) order by ${sql(spec.id)} for update)
              select count(*) filter (where held > 0)::int as rows, (array_agg(id order by id) filter (where held > 0))[1:3] as examples
              from locked`;
                if (held.rows === 0) return undefined;
                return `${held.rows} ${spec.noun}${held.rows === 1 ? '' : 's'} (${held.examples!.join(', ')}${held.rows > 3 ? ', …' : ''}) ${held.rows === 1 ? 'holds' : 'hold'} what checkouts in flight reserved`;
              },
              async write(sql) {
                // Every row gets the same values, so the upsert sets them from parameters, not from `excluded`.
                for (let start = 0; start < shardIds.length; start += SLICE) {
                  const slice = shardIds.slice(start, start + SLICE);
                  await sql`
                insert into ${sql(spec.table)} (${sql([spec.id, 'slot', ...Object.keys(values)])})
                select id, slot, ${sql(columnsOf(values))}
                from unnest(${sql.array(slice)}::text[], ${sql.array(slice.map(shards.slotOf))}::int[]) as row(id, slot)
                on conflict (${sql(spec.id)}) do update set ${sql(columnsOf(values))}`;
                }
              },
            })),
            (reasons) => `batch_init changed nothing: ${reasons.join('; ')}; try again once they are decided`,
          ),
        SPANNING_RETRY_BUDGET_MS,
      );
    },
  };
}
