import type postgres from 'postgres';
import { owedDecisions } from '../../layers/coordinator/decision-sends';
import { inRolledBackTransaction } from './support/rolled-back';
import { scratchDatabases } from './support/scratch-databases';

/**
 * The resolver sends an unacknowledged decision again, but not every pass: each transaction's
 * next resend waits twice as long as the last, and the most overdue come first, so decisions
 * that are never acknowledged cannot starve newer ones. Run on a scratch order database, so the
 * log holds only this test's entries (the stack's own tests leave decisions owed for a while),
 * inside one transaction, because time passing is the clock moved back by hand and now() is
 * fixed inside a transaction.
 */
const databases = scratchDatabases('order', ['resend']);

const PAUSE_MS = 1000;

it('puts each resent decision off twice as long as the last time, and reaches newer decisions behind ones never acknowledged', async () => {
  await inRolledBackTransaction(databases()[0]!, async (tx) => {
    const owed = async () => (await owedDecisions(tx as unknown as postgres.Sql, PAUSE_MS, 5)).map((decision) => decision.txnId).sort();
    const dueInMs = async (txnId: string) =>
      (
        await tx<[{ ms: number }]>`
          select round(extract(epoch from coalesce(resend_clock, decided_at) + ${PAUSE_MS} * interval '1 millisecond' - now()) * 1000)::int as ms
          from transactions where txn_id = ${txnId}`
      )[0].ms;
    const stuck = ['resend-a', 'resend-b', 'resend-c', 'resend-d', 'resend-e'];
    // Time passes for the stuck ones only, so the order among due entries is never a tie.
    const passTime = (ms: number) =>
      tx`update transactions set resend_clock = coalesce(resend_clock, decided_at) - ${ms} * interval '1 millisecond'
         where txn_id = any(${tx.array(stuck)}::text[])`;

    await tx`
      insert into transactions (txn_id, order_id, state, participants, deadline, decided_at)
      select txn_id, 'resend-order', 'committed', '{stock-0}', now(), now() - interval '1 hour'
      from unnest(${tx.array(stuck)}::text[]) as txn_id`;
    await tx`
      insert into transactions (txn_id, order_id, state, participants, deadline, decided_at)
      values ('resend-newer', 'resend-order', 'aborted', '{payment-1}', now(), now() - interval '10 seconds')`;

    expect(await owed()).toEqual(stuck);
    expect(await owed()).toEqual(['resend-newer']);
    expect(await owed()).toEqual([]);
    expect(await dueInMs('resend-a')).toBe(2 * PAUSE_MS);

    await passTime(2 * PAUSE_MS);
    expect(await owed()).toEqual(stuck);
    expect(await dueInMs('resend-a')).toBe(4 * PAUSE_MS);

    await passTime(3 * PAUSE_MS);
    expect(await owed()).toEqual([]);
    await passTime(PAUSE_MS);
    expect(await owed()).toEqual(stuck);
    expect(await dueInMs('resend-a')).toBe(8 * PAUSE_MS);
  });
});
