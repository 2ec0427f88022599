import type postgres from 'postgres';
import { readCoordinatorShard } from '../../functions/ops/coordinator-view';
import { paymentLedger } from '../../functions/payment/ledger';
import { stockLedger } from '../../functions/stock/ledger';
import type { PreparePayment, PrepareStock } from '../../layers/twopc/messages';
import { inRolledBackTransaction } from './support/rolled-back';
import { connectTo } from './support/stack';

/**
 * A checkout's cost must not grow with the data: every hot statement finds its rows by index.
 * Each case fills a shard's table to a realistic size inside a transaction that is rolled back
 * (so the shared stack keeps its data), runs the statement, and reads from the transaction's own
 * table statistics how many rows it touched.
 */
const BIG = 200_000;

interface TableReads {
  seqRead: number;
  indexFetched: number;
}

async function readsOf(tx: postgres.TransactionSql, table: string): Promise<TableReads> {
  const [row] = await tx<{ seq_read: number; idx_fetched: number }[]>`
    select coalesce(seq_tup_read, 0)::int as seq_read, coalesce(idx_tup_fetch, 0)::int as idx_fetched
    from pg_stat_xact_user_tables where relname = ${table}`;
  return { seqRead: row?.seq_read ?? 0, indexFetched: row?.idx_fetched ?? 0 };
}

/** Runs `work` on a big table in a transaction that never commits; returns what it read. */
async function onBigTable(
  sql: postgres.Sql,
  fill: (tx: postgres.TransactionSql) => Promise<unknown>,
  work: (tx: postgres.TransactionSql) => Promise<unknown>,
  tables: readonly string[],
): Promise<Record<string, TableReads>> {
  return inRolledBackTransaction(sql, async (tx) => {
    await fill(tx);
    // Statistics as a table of this size would have them (analyze is transactional too).
    for (const table of tables) await tx.unsafe(`analyze ${table}`);
    const before = Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await readsOf(tx, table)] as const)));
    await work(tx);
    const reads: Record<string, TableReads> = {};
    for (const table of tables) {
      const after = await readsOf(tx, table);
      reads[table] = { seqRead: after.seqRead - before[table]!.seqRead, indexFetched: after.indexFetched - before[table]!.indexFetched };
    }
    return reads;
  });
}

describe('hot-path statements on tables of realistic size', () => {
  const shards: postgres.Sql[] = [];
  afterAll(() => Promise.all(shards.map((sql) => sql.end({ timeout: 5 }))));

  it('a stock batch locks only the items it asks for and those its prepared transactions hold', async () => {
    const sql = connectTo('stock-0');
    shards.push(sql);
    const prepare: PrepareStock = {
      kind: 'prepare',
      txnId: 'scan-new',
      orderId: 'o1',
      participant: 'stock-0',
      deadline: Date.now() + 60_000,
      items: [{ itemId: 'scan-7', quantity: 1 }],
    };

    const reads = await onBigTable(
      sql,
      async (tx) => {
        await tx`insert into items (item_id, price, stock, held)
                 select 'scan-' || n, 1, 10, 1 - n % 2 from generate_series(1, ${BIG}) as n`;
        await tx`insert into participations (txn_id, state, held)
                 select 'scan-txn-' || n, case when n % 2 = 0 then 'prepared' else 'committed' end,
                        jsonb_build_array(jsonb_build_object('itemId', 'scan-' || n, 'quantity', 1))
                 from generate_series(1, ${BIG}) as n`;
      },
      async (tx) => {
        const ledger = stockLedger();
        await ledger.load(tx, [prepare], ['scan-txn-10', 'scan-new']);
        const reservation = ledger.tryReserve(prepare);
        expect(reservation.reservation).toEqual({ ok: true });
        ledger.release([{ itemId: 'scan-10', quantity: 1 }]);
        await Promise.all(ledger.save(tx));
      },
      ['items', 'participations'],
    );

    expect(reads.items!.seqRead).toBe(0);
    expect(reads.participations!.seqRead).toBe(0);
    // Locking reads scan-7 and scan-10, the save writes them back: a handful, not the table.
    expect(reads.items!.indexFetched).toBeLessThan(10);
    expect(reads.participations!.indexFetched).toBeLessThan(10);
  });

  it('a payment batch locks only the users it asks for and those its prepared transactions hold', async () => {
    const sql = connectTo('payment-0');
    shards.push(sql);
    const prepare: PreparePayment = {
      kind: 'prepare',
      txnId: 'scan-new',
      orderId: 'o1',
      participant: 'payment-0',
      deadline: Date.now() + 60_000,
      userId: 'scan-7',
      amount: 1,
    };

    const reads = await onBigTable(
      sql,
      async (tx) => {
        await tx`insert into users (user_id, credit, held)
                 select 'scan-' || n, 10, 1 - n % 2 from generate_series(1, ${BIG}) as n`;
        await tx`insert into participations (txn_id, state, held)
                 select 'scan-txn-' || n, case when n % 2 = 0 then 'prepared' else 'committed' end,
                        jsonb_build_object('userId', 'scan-' || n, 'amount', 1)
                 from generate_series(1, ${BIG}) as n`;
      },
      async (tx) => {
        const ledger = paymentLedger();
        await ledger.load(tx, [prepare], ['scan-txn-10', 'scan-new']);
        expect(ledger.tryReserve(prepare).reservation).toEqual({ ok: true });
        ledger.release({ userId: 'scan-10', amount: 1 });
        await Promise.all(ledger.save(tx));
      },
      ['users', 'participations'],
    );

    expect(reads.users!.seqRead).toBe(0);
    expect(reads.participations!.seqRead).toBe(0);
    expect(reads.users!.indexFetched).toBeLessThan(10);
    expect(reads.participations!.indexFetched).toBeLessThan(10);
  });

  it('the live view reads of the 2PC log find what is in flight by index, whatever the log holds', async () => {
    const sql = connectTo('order-0');
    shards.push(sql);
    const reads = await onBigTable(
      sql,
      async (tx) => {
        await tx`insert into transactions (txn_id, order_id, state, participants, acked, deadline, decided_at, completed_at)
                 select 'scan-txn-' || n, 'scan-' || n, case when n % 2 = 0 then 'committed' else 'aborted' end, '{stock-0}', '{stock-0}',
                        now(), now(), now()
                 from generate_series(1, ${BIG}) as n`;
        await tx`insert into transactions (txn_id, order_id, state, participants, deadline)
                 select 'scan-open-' || n, 'scan-open-' || n, 'preparing', '{stock-0}', now() + interval '1 minute' from generate_series(1, 3) as n`;
      },
      async (tx) => {
        const view = await readCoordinatorShard(tx as unknown as postgres.Sql, { listed: 10 });
        expect(view.undecided.map((txn) => txn.txnId)).toEqual(expect.arrayContaining(['scan-open-1', 'scan-open-2', 'scan-open-3']));
      },
      ['transactions'],
    );

    expect(reads.transactions!.seqRead).toBe(0);
    expect(reads.transactions!.indexFetched).toBeLessThan(100);
  });

  it('what a participant holds prepared is found by index, whatever it has settled', async () => {
    const sql = connectTo('stock-0');
    shards.push(sql);
    const reads = await onBigTable(
      sql,
      (tx) => tx`insert into participations (txn_id, state, held)
                 select 'scan-txn-' || n, case when n % 1000 = 0 then 'prepared' else 'committed' end, '[]'
                 from generate_series(1, ${BIG}) as n`,
      (tx) => tx`select txn_id from participations where state = 'prepared'`,
      ['participations'],
    );

    expect(reads.participations!.seqRead).toBe(0);
    expect(reads.participations!.indexFetched).toBeLessThan(1000);
  });
});
