import type postgres from 'postgres';
import { type ShardPart, everyShardOrNone } from '../../layers/db/every-shard-or-none';
import { OutcomeUnknownError } from '../../layers/errors';
import { scratchDatabases } from './support/scratch-databases';

/**
 * batch_init's all or nothing across shards (`everyShardOrNone`), on three scratch databases of
 * the stock schema: a shard that fails after the others have written rolls them back; and when
 * the commits themselves part ways, the caller hears which shards committed, never that nothing
 * changed. Each shard's part writes one row, "marker".
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

it('says which shards committed when a commit fails on one: the outcome is partial, not "nothing changed"', async () => {
  const [, second] = databases();
  const [{ database }] = await second!<[{ database: string }]>`select current_database() as database`;
  // The last shard's write ends the second shard's session while it waits, written, for the others: its COMMIT finds no connection.
  const cutsTheSecond = part(2, async (tx) => {
    await tx`select pg_terminate_backend(pid) from pg_stat_activity
             where datname = ${database} and state = 'idle in transaction' and pid <> pg_backend_pid()`;
  });
  const failure = await everyShardOrNone([part(0), part(1), cutsTheSecond], (reasons) => reasons.join()).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(OutcomeUnknownError);
  expect((failure as Error).message).toMatch(/^batch_init committed on shards 0, 2, may have on 1: /);
  expect(await markers()).toEqual([1, 0, 1]);
});
