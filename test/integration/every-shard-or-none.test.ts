import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import postgres from 'postgres';
import { everyShardOrNone, type ShardPart } from '../../layers/db/every-shard-or-none';
import { settleSpanningOrphans } from '../../layers/db/spanning-orphans';
import { MAX_BATCH_INIT } from '../../layers/http/params';
import { eventually } from './support/eventually';
import { holdingProxy } from './support/holding-proxy';
import { scratchDatabases, scratchLogins } from './support/scratch-databases';

/**
 * batch_init's all or nothing across shards (`everyShardOrNone`), on three scratch databases of
 * the stock schema: a shard that fails after the others have written rolls them back; a call of
 * the documented maximum commits on all three; and a caller killed -9 between its shards' COMMITs,
 * or between its PREPAREs and its first COMMIT, leaves parts that are left alone while it lives
 * and, once it is gone, settled alike on every shard.
 */
const ROLES = ['span_a', 'span_b', 'span_c'];
const databases = scratchDatabases('stock', ROLES);
const settle = () => settleSpanningOrphans(new Map(databases().map((sql, shard) => [shard, sql])));

beforeEach(async () => {
  for (const sql of databases()) await sql`delete from items`;
});

const rows = async () =>
  Promise.all(databases().map(async (sql) => (await sql<[{ rows: number }]>`select count(*)::int as rows from items`)[0].rows));
const prepared = async () =>
  Promise.all(databases().map(async (sql) => (await sql`select 1 from pg_prepared_xacts where database = current_database()`).length));

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
  expect({ rows: await rows(), prepared: await prepared() }).toEqual({ rows: [0, 0, 0], prepared: [0, 0, 0] });
});

it('answers 503, nothing written, when the connection to a shard is lost before the decision', async () => {
  const login = scratchLogins('stock', ROLES)[2]!;
  const proxy = await holdingProxy(login, 'prepare transaction', 'cut');
  const cutOff = postgres({ ...login, port: proxy.port, max: 1, onnotice: () => undefined });
  try {
    await expect(everyShardOrNone([part(0), part(1), { ...part(2), sql: cutOff }], (reasons) => reasons.join())).rejects.toMatchObject({
      status: 503,
      code: 'unavailable',
    });
  } finally {
    await cutOff.end({ timeout: 1 });
    await proxy.close();
  }
  expect({ rows: await rows(), prepared: await prepared() }).toEqual({ rows: [0, 0, 0], prepared: [0, 0, 0] });
});

/** Row i of the call goes to shard i mod 3 (`support/spanning-caller.ts`). */
const EVERY_ROW = [0, 1, 2].map((shard) => Math.ceil((MAX_BATCH_INIT - shard) / 3));

/** Starts a process making a call of `MAX_BATCH_INIT` rows over the three shards, `through` one shard's proxy if given. */
function caller(through?: { shard: number; port: number }): { process: ChildProcess; exit: Promise<number | NodeJS.Signals | null> } {
  const shards = scratchLogins('stock', ROLES).map((login, shard) => (shard === through?.shard ? { ...login, port: through.port } : login));
  // tsx's loader in this very process (its command line would run the call in a child of its own, out of reach of a kill).
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve(__dirname, 'support/spanning-caller.ts'), JSON.stringify({ shards, rows: MAX_BATCH_INIT })],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { process: child, exit: new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code))) };
}

it('commits the documented maximum, a million rows, on all of three shards', async () => {
  expect(await caller().exit).toBe(0);
  expect({ rows: await rows(), prepared: await prepared() }).toEqual({ rows: EVERY_ROW, prepared: [0, 0, 0] });
}, 120_000);

describe('a caller killed -9 in the midst of its commits', () => {
  /** Runs a caller whose `statement` to `shard` is held, checks what it left while alive, kills it -9. */
  async function killedAt(shard: number, whileAlive: () => Promise<void>): Promise<void> {
    const proxy = await holdingProxy(scratchLogins('stock', ROLES)[shard]!, 'commit prepared');
    try {
      const call = caller({ shard, port: proxy.port });
      await Promise.race([proxy.held, call.exit.then((code) => Promise.reject(new Error(`the caller ended (${code}) before its commit`)))]);
      await whileAlive();
      call.process.kill('SIGKILL');
      expect(await call.exit).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    await eventually('every part settled once its caller is gone', async () => {
      const { failed } = await settle();
      if (failed.length > 0) throw failed[0]!.error;
      return (await prepared()).every((count) => count === 0) ? true : undefined;
    });
  }

  it('between the lowest shard committing and the next: committed on every shard', async () => {
    await killedAt(1, async () => {
      const [lowest, next] = await rows();
      expect({ lowest, next }).toEqual({ lowest: EVERY_ROW[0], next: 0 });
      expect(await settle()).toEqual({ settled: 0, failed: [] });
    });
    expect({ rows: await rows(), prepared: await prepared() }).toEqual({ rows: EVERY_ROW, prepared: [0, 0, 0] });
  }, 120_000);

  it('between its PREPAREs and the lowest shard committing: rolled back on every shard', async () => {
    await killedAt(0, async () => {
      expect({ rows: await rows(), prepared: await prepared() }).toEqual({ rows: [0, 0, 0], prepared: [1, 1, 1] });
      expect(await settle()).toEqual({ settled: 0, failed: [] });
    });
    expect({ rows: await rows(), prepared: await prepared() }).toEqual({ rows: [0, 0, 0], prepared: [0, 0, 0] });
  }, 120_000);
});
