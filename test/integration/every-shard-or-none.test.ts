import type postgres from 'postgres';
import { randomUUID } from 'node:crypto';
import { everyShardOrNone, type ShardPart, settleSpanningOrphans, spanningGid } from '../../layers/db/every-shard-or-none';
import { scratchDatabases } from './support/scratch-databases';

/**
 * batch_init's all or nothing across shards (`everyShardOrNone`), on three scratch databases of
 * the stock schema: a shard that fails after the others have written rolls them back; and a
 * caller that dies between its shards' PREPAREs and COMMITs leaves parts that settling commits or
 * rolls back everywhere alike. Each shard's part writes one row, "marker".
 */
const databases = scratchDatabases('stock', ['span_a', 'span_b', 'span_c']);

beforeEach(async () => {
  for (const sql of databases()) await sql`delete from items where item_id = 'marker'`;
});

const markers = async () => Promise.all(databases().map(async (sql) => (await sql`select 1 from items where item_id = 'marker'`).length));

function part(shard: number, write?: (tx: postgres.TransactionSql) => Promise<void>): ShardPart {
  return {
    shard,
    sql: databases()[shard]!,
    check: async () => undefined,
    async write(tx) {
      await tx`insert into items (item_id, price, stock, held, slot) values ('marker', 1, 1, 0, 0)`;
      await write?.(tx);
    },
  };
}

it('rolls back every shard when the last one fails after the others have written', async () => {
  const failing = part(2, async () => {
    throw new Error('the last shard failed after writing');
  });
  await expect(everyShardOrNone([part(0), part(1), failing], (reasons) => reasons.join())).rejects.toThrow(
    'the last shard failed after writing',
  );
  expect(await markers()).toEqual([0, 0, 0]);
});

const prepared = async () =>
  Promise.all(databases().map(async (sql) => (await sql`select 1 from pg_prepared_xacts where database = current_database()`).length));

it('rolls back every prepared part and leaves none behind when a shard fails before the commit', async () => {
  await expect(
    everyShardOrNone([part(0), part(1), part(2, async () => Promise.reject(new Error('failed')))], (reasons) => reasons.join()),
  ).rejects.toThrow('failed');
  expect({ markers: await markers(), prepared: await prepared() }).toEqual({ markers: [0, 0, 0], prepared: [0, 0, 0] });
});

/**
 * The states a caller killed -9 between its PREPAREs and its COMMITs leaves (`everyShardOrNone`
 * commits the lowest shard's part first, with its decision row): each part prepared under the
 * name the code gives it, the lowest committed or not. Settling makes every shard agree.
 */
describe('a batch_init whose caller died between its shards PREPAREs and COMMITs', () => {
  async function leftPrepared(run: string, { lowestCommitted }: { readonly lowestCommitted: boolean }): Promise<void> {
    for (const [shard, sql] of databases().entries()) {
      await sql.begin(async (tx) => {
        await tx`insert into items (item_id, price, stock, held, slot) values ('marker', 1, 1, 0, 0)`;
        if (shard === 0) await tx`insert into spanning_commits (id) values (${run})`;
        await tx.prepare(spanningGid(run, 0, shard));
      });
    }
    if (lowestCommitted) await databases()[0]!.unsafe(`commit prepared '${spanningGid(run, 0, 0)}'`);
  }
  const settle = () => settleSpanningOrphans(new Map(databases().map((sql, shard) => [shard, sql])), 0);

  it('is committed on every shard once the lowest shard, which decides, committed', async () => {
    await leftPrepared(randomUUID(), { lowestCommitted: true });
    expect(await settle()).toEqual({ settled: 2, failed: [] });
    expect({ markers: await markers(), prepared: await prepared() }).toEqual({ markers: [1, 1, 1], prepared: [0, 0, 0] });
  });

  it('is rolled back on every shard, the lowest first, when none had committed', async () => {
    await leftPrepared(randomUUID(), { lowestCommitted: false });
    expect((await settle()).failed).toEqual([]);
    expect({ markers: await markers(), prepared: await prepared() }).toEqual({ markers: [0, 0, 0], prepared: [0, 0, 0] });
  });

  it('is left alone while younger than a function can run: its caller may still commit it', async () => {
    const run = randomUUID();
    await leftPrepared(run, { lowestCommitted: false });
    expect(await settleSpanningOrphans(new Map(databases().map((sql, shard) => [shard, sql])))).toEqual({ settled: 0, failed: [] });
    expect(await prepared()).toEqual([1, 1, 1]);
    for (const [shard, sql] of databases().entries()) await sql.unsafe(`rollback prepared '${spanningGid(run, 0, shard)}'`);
  });
});
