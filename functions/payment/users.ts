import { balanceRepository, type BalanceTable } from '../../layers/db/balances';
import type { WriteKey } from '../../layers/db/idempotency';
import type { ShardSet } from '../../layers/db/shards';

/** The payment service's table of users: credit per user. */
export const USERS: BalanceTable = {
  table: 'users',
  id: 'user_id',
  balance: 'credit',
  noun: 'user',
  shortfall: (credit, wanted) => `has ${credit} credit, less than the ${wanted} asked for`,
};

const users = balanceRepository<'credit'>(USERS);

export const createUser = (payment: ShardSet, key?: WriteKey) => users.create(payment, { credit: 0 }, key);

export const findCredit = async (payment: ShardSet, userId: string): Promise<number> =>
  (await users.find(payment, { id: userId, columns: ['credit'] })).credit;

export const changeCredit = (payment: ShardSet, { userId, delta }: { readonly userId: string; readonly delta: number }, key?: WriteKey) =>
  users.adjust(payment, { id: userId, delta }, key);

export const batchInitUsers = (payment: ShardSet, { count, startingCredit }: { readonly count: number; readonly startingCredit: number }) =>
  users.batchInit(payment, { count, values: { credit: startingCredit } });
