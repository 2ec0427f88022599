import type { ShardSet } from '../../layers/db/shards';
import { idParam, intParam, MAX_BATCH_INIT } from '../../layers/http/params';
import { type Route, writtenReply } from '../../layers/http/router';
import { batchInitUsers, changeCredit, createUser, findCredit } from './users';

export interface PaymentDeps {
  readonly payment: ShardSet;
}

/** The payment service's HTTP API (API.md, "Payment"), keyed by route. */
export const paymentRoutes: Readonly<Record<string, Route<PaymentDeps>>> = {
  'POST /payment/create_user': async (_, { payment }, { writeKey }) =>
    writtenReply(await createUser(payment, writeKey), (userId) => ({ user_id: userId })),

  'POST /payment/batch_init/{n}/{starting_money}': async (params, { payment }) => {
    const n = intParam(params, 'n', { max: MAX_BATCH_INIT });
    const startingMoney = intParam(params, 'starting_money');
    await batchInitUsers(payment, { count: n, startingCredit: startingMoney });
    return { body: { msg: `${n} users initialised with credit ${startingMoney}` } };
  },

  'GET /payment/find_user/{user_id}': async (params, { payment }) => {
    const userId = idParam(params, 'user_id');
    return { body: { user_id: userId, credit: await findCredit(payment, userId) } };
  },

  'POST /payment/add_funds/{user_id}/{amount}': async (params, { payment }, { writeKey }) => {
    const userId = idParam(params, 'user_id');
    const amount = intParam(params, 'amount', { min: 1 });
    return writtenReply(await changeCredit(payment, { userId, delta: amount }, writeKey), (credit) => ({ done: true, credit }));
  },

  'POST /payment/pay/{user_id}/{amount}': async (params, { payment }, { writeKey }) => {
    const userId = idParam(params, 'user_id');
    const amount = intParam(params, 'amount', { min: 1 });
    return writtenReply(await changeCredit(payment, { userId, delta: -amount }, writeKey), (credit) => ({ user_id: userId, credit }));
  },
};
