import { adjustBalance, type BalanceTable, batchInitRows, createRow, findRow } from '../../layers/db/balances';
import type { ShardSet } from '../../layers/db/shards';

/** The payment service's table of users: credit per user. */
export const USERS: BalanceTable = {
  table: 'users',
  id: 'user_id',
  balance: 'credit',
  noun: 'user',
  shortfall: (credit, wanted) => `has ${credit} credit, less than the ${wanted} asked for`,
};

export const createUser = (payment: ShardSet) => createRow(payment, USERS, { credit: 0 });

export async function findCredit(payment: ShardSet, userId: string): Promise<number> {
  return (await findRow(payment, USERS, userId, ['credit'])).credit!;
}

export const changeCredit = (payment: ShardSet, userId: string, delta: number) => adjustBalance(payment, USERS, userId, delta);

export const batchInitUsers = (payment: ShardSet, count: number, startingCredit: number) =>
  batchInitRows(payment, USERS, count, { credit: startingCredit });
