import { EscrowBalances } from '../../layers/db/escrow';
import type { InstructionOf } from '../../layers/twopc/messages';
import type { Ledger } from '../../layers/participant/participant-batch';
import { USERS } from './users';

/** What a payment prepare holds: whose credit, and how much. */
export interface HeldCredit {
  readonly userId: string;
  readonly amount: number;
}

/**
 * Credit held in escrow: a prepare moves the amount from the user's free credit to held credit
 * at once, a rollback moves it back, a commit lets it go (charged).
 */
export function paymentLedger(): Ledger<InstructionOf<'payment'>, HeldCredit> {
  const balances = new EscrowBalances(USERS);

  return {
    keysOf: (prepare) => [prepare.userId],

    // One array of ids, then one index lookup each: an OR across a sub-select made PostgreSQL
    // scan the whole table on every batch (a cost growing with the shard, not the batch).
    async load(sql, prepares, txnIds) {
      const ids = new Set<string>(prepares.map((prepare) => prepare.userId));
      balances.remember(
        await sql<{ id: string; free: number; held: number }[]>`
        select user_id as id, credit::float8 as free, held::float8 as held from users
        where user_id = any(array(
          select unnest(${sql.array([...ids])}::text[])
          union
          select held ->> 'userId' from participations
          where txn_id = any(${sql.array([...txnIds])}::text[]) and state = 'prepared'))
        order by user_id for update`,
      );
    },

    tryReserve(prepare) {
      const { userId, amount } = prepare;
      const available = balances.free(userId);
      if (available === undefined) return { reservation: { ok: false, refusal: 'not_found', detail: `user ${userId} not found` } };
      if (available < amount) {
        return {
          reservation: { ok: false, refusal: 'insufficient', detail: `user ${userId} has ${available} credit, less than ${amount}` },
        };
      }
      balances.reserve(userId, amount);
      return { reservation: { ok: true }, held: { userId, amount } };
    },

    release: ({ userId, amount }) => balances.giveBack(userId, amount),
    keep: ({ userId, amount }) => balances.keep(userId, amount),
    save: (sql) => balances.save(sql),
  };
}
