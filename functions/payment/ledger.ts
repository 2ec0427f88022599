import type { Instruction, PreparePayment } from '../../layers/twopc/messages';
import type { Ledger } from '../../layers/twopc/participant-batch';

/** What a payment prepare holds: whose credit, and how much. */
export interface HeldCredit {
  readonly userId: string;
  readonly amount: number;
}

/**
 * Credit held in escrow: a prepare takes the amount off the user's credit at once, a rollback
 * gives it back, a commit keeps it charged.
 */
export function paymentLedger(): Ledger<Instruction, HeldCredit> {
  const credit = new Map<string, number>();
  const changed = new Set<string>();

  return {
    // One array of ids, then one index lookup each: an OR across a sub-select made PostgreSQL
    // scan the whole table on every batch (a cost growing with the shard, not the batch).
    async load(sql, prepares, txnIds) {
      const ids = new Set<string>(prepares.map((prepare) => (prepare as PreparePayment).userId));
      const rows = await sql<{ user_id: string; credit: number }[]>`
        select user_id, credit::float8 as credit from users
        where user_id = any(array(
          select unnest(${sql.array([...ids])}::text[])
          union
          select held ->> 'userId' from participations
          where txn_id = any(${sql.array([...txnIds])}::text[]) and state = 'prepared'))
        order by user_id for update`;
      for (const row of rows) credit.set(row.user_id, row.credit);
    },

    tryReserve(prepare) {
      const { userId, amount } = prepare as PreparePayment;
      const available = credit.get(userId);
      if (available === undefined) return { reservation: { ok: false, refusal: 'not_found', detail: `user ${userId} not found` } };
      if (available < amount) {
        return { reservation: { ok: false, refusal: 'insufficient', detail: `user ${userId} has ${available} credit, less than ${amount}` } };
      }
      credit.set(userId, available - amount);
      changed.add(userId);
      return { reservation: { ok: true }, held: { userId, amount } };
    },

    release({ userId, amount }) {
      credit.set(userId, (credit.get(userId) ?? 0) + amount);
      changed.add(userId);
    },

    save(sql) {
      if (changed.size === 0) return [];
      const ids = [...changed];
      return [
        sql`
        update users set credit = v.credit
        from unnest(${sql.array(ids)}::text[], ${sql.array(ids.map((id) => credit.get(id)!))}::bigint[]) as v(user_id, credit)
        where users.user_id = v.user_id`,
      ];
    },
  };
}
