import net from 'node:net';
import { IDLE_IN_TRANSACTION_LIMIT_MS, pipelinedTransaction } from '../../layers/db/pipelined-transaction';
import { connectTo } from './support/stack';

/** The helper every hot local transaction goes through: all or nothing, though COMMIT leaves with the writes unanswered. */
const sql = connectTo('order-0');
const table = `pipelined_test_${process.pid}`;

const amounts = () => sql`select id, amount from ${sql(table)} order by id`;
/** The rows the first test's transaction writes, which the failing ones after it must leave as they are. */
const FIRST_WRITES = [
  { id: 1, amount: 10 },
  { id: 2, amount: 20 },
];

beforeAll(() => sql.unsafe(`create table ${table} (id int primary key, amount int not null check (amount >= 0))`));
afterAll(async () => {
  await sql.unsafe(`drop table if exists ${table}`);
  await sql.end({ timeout: 5 });
});

describe('pipelinedTransaction', () => {
  it('commits every write, and returns what the write step computed from the reads', async () => {
    const result = await pipelinedTransaction(
      sql,
      async (tx) => (await tx`select count(*)::int as n from ${tx(table)}`)[0]!.n as number,
      (tx, count) => ({
        writes: [tx`insert into ${tx(table)} (id, amount) values (1, 10)`, tx`insert into ${tx(table)} (id, amount) values (2, 20)`],
        result: count + 2,
      }),
    );

    expect(result).toBe(2);
    expect(await amounts()).toEqual(FIRST_WRITES);
  });

  it('applies nothing when a later write fails, and throws that write’s error', async () => {
    const attempt = pipelinedTransaction(
      sql,
      async () => undefined,
      (tx) => ({
        writes: [
          tx`update ${tx(table)} set amount = amount + 5 where id = 1`,
          tx`update ${tx(table)} set amount = amount - 100 where id = 2`,
        ],
        result: 'unreachable',
      }),
    );

    await expect(attempt).rejects.toThrow(/check constraint/);
    expect(await amounts()).toEqual(FIRST_WRITES);
  });

  it('applies nothing when a read fails', async () => {
    const attempt = pipelinedTransaction(
      sql,
      async (tx) => {
        await tx`update ${tx(table)} set amount = 0 where id = 1`;
        await tx`select * from no_such_table_here`;
      },
      () => ({ writes: [], result: undefined }),
    );

    await expect(attempt).rejects.toThrow(/no_such_table_here/);
    expect((await sql`select amount from ${sql(table)} where id = 1`)[0]).toEqual({ amount: 10 });
  });

  it('takes two writes to the server: BEGIN with the reads, the writes with COMMIT', async () => {
    // Both connections of the pool open first, so no connection start-up is counted.
    await Promise.all([sql`select pg_sleep(0.05)`, sql`select pg_sleep(0.05)`]);
    const write = net.Socket.prototype.write;
    let writes = 0;
    net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
      writes++;
      return write.apply(this, args);
    } as net.Socket['write'];
    try {
      await pipelinedTransaction(
        sql,
        async (tx) => tx`select amount from ${tx(table)} where id = 1 for update`,
        (tx) => ({ writes: [tx`update ${tx(table)} set amount = amount + 1 where id = 1`], result: undefined }),
      );
    } finally {
      net.Socket.prototype.write = write;
    }

    expect(writes).toBe(2);
  });

  it('runs the statements in the order they were issued, also when the first one must be described first', async () => {
    // A statement new to the connection and with parameters is described before it is bound; the
    // statements behind it must wait for it, not overtake it.
    const id = 1000 + Math.floor(Math.random() * 1_000_000);
    await pipelinedTransaction(
      sql,
      async (tx) => {
        await Promise.all([
          tx`insert into ${tx(table)} (id, amount) values (${id}, ${1}) returning id /* ${tx.unsafe(String(id))} */`,
          tx`update ${tx(table)} set amount = amount * 10 where id = ${tx.unsafe(String(id))}`,
        ]);
      },
      () => ({ writes: [], result: undefined }),
    );

    expect((await sql`select amount from ${sql(table)} where id = ${id}`)[0]).toEqual({ amount: 10 });
  });

  it('is ended by the server when its process stalls between reads and writes, so its locks do not outlive the limit', async () => {
    const other = connectTo('order-0');
    let resume!: () => void;
    const stalled = new Promise<void>((resolve) => (resume = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    try {
      const attempt = pipelinedTransaction(
        sql,
        async (tx) => {
          await tx`select amount from ${tx(table)} where id = 1 for update`;
          locked();
          await stalled; // as a frozen process would: the server sees a transaction left idle
        },
        (tx) => ({ writes: [tx`update ${tx(table)} set amount = amount + 1000 where id = 1`], result: undefined }),
      );
      attempt.catch(() => undefined);
      await holding;
      const waitedFrom = Date.now();
      // Blocks on the stalled transaction's row lock until the server ends that transaction.
      await other.begin((tx) => tx`select amount from ${tx(table)} where id = 1 for update`);
      expect(Date.now() - waitedFrom).toBeLessThan(IDLE_IN_TRANSACTION_LIMIT_MS + 3_000);
      resume();
      await expect(attempt).rejects.toThrow();
      expect((await sql`select amount from ${sql(table)} where id = 1`)[0]!.amount).toBeLessThan(1000);
    } finally {
      resume();
      await other.end({ timeout: 5 });
    }
  }, 30_000);
});

describe('a transaction begun on a connection whose pipeline is full (postgres.js max_pipeline)', () => {
  // One connection that takes two statements in flight: the BEGIN goes out as the second,
  // behind another caller's statements, which filled the pipeline. Upstream postgres.js then
  // never reserves the connection for the transaction (its statements would run on whichever
  // connection, or throw); patched, it has to wait for the connection instead.
  const full = connectTo('order-0', { max: 1, max_pipeline: 2 });
  afterAll(() => full.end({ timeout: 5 }));

  it('still runs the transaction alone on its connection, and the statements around it outside it', async () => {
    await full`select 1`; // connected: statements now go out at once, pipelined
    // Sent now (a postgres.js statement leaves when first awaited or executed).
    const before = [full`select pg_sleep(0.2), txid_current() as txid`.execute(), full`select txid_current() as txid`.execute()];
    const transaction = pipelinedTransaction(
      full,
      async (tx) => [(await tx`select txid_current() as txid`)[0]!.txid, (await tx`select txid_current() as txid`)[0]!.txid] as const,
      (tx, txids) => ({ writes: [tx`select 1`], result: txids }),
    );
    const after = full`select txid_current() as txid`.execute();
    const hang = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the transaction never ran: its BEGIN never reserved the connection')), 5_000).unref(),
    );

    const [inside, outside] = await Promise.race([Promise.all([transaction, Promise.all([...before, after])]), hang]);

    expect(inside[0]).toBe(inside[1]);
    for (const [row] of outside) expect(row!.txid).not.toBe(inside[0]);
  });
});
