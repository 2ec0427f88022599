import type { StormCaller } from './storm-caller';
import { ITEMS, ORDERS, type StormLedger, type StormRows } from './storm-rows';

/**
 * A kind of call and its weight. `random` is the caller's own generator, so every caller's
 * sequence replays from the seed: a move draws from it in the same order every time.
 */
export type Move = [weight: number, run: (random: () => number) => Promise<unknown>];

/** The biggest amount a balance may hold (the API's cap): adding up to it tests the cap under concurrent holds. */
const LARGEST = 2n ** 53n - 1n;

/** Every kind of call the storm makes, weighted; without batch_init sizes, neither batch_init nor the numeric orders and items it makes. */
export function stormMoves(
  caller: StormCaller,
  { items, users, orders }: StormRows,
  ledger: StormLedger,
  batchInit: { readonly items: number; readonly users: number; readonly orders: number } | undefined,
): Move[] {
  return [
    ...(batchInit ? batchInitMoves(caller, batchInit) : []),
    ...balanceMoves(caller, {
      ids: items,
      book: ledger.stock,
      field: 'stock',
      step: 50,
      find: { kind: 'stock find', path: (id) => `/stock/find/${id}` },
      add: { kind: 'stock add', path: (id, amount) => `/stock/add/${id}/${amount}` },
      take: { kind: 'stock subtract', path: (id, amount) => `/stock/subtract/${id}/${amount}` },
    }),
    ...balanceMoves(caller, {
      ids: users,
      book: ledger.credit,
      field: 'credit',
      step: 500,
      find: { kind: 'find_user', path: (id) => `/payment/find_user/${id}` },
      add: { kind: 'add_funds', path: (id, amount) => `/payment/add_funds/${id}/${amount}` },
      take: { kind: 'pay', path: (id, amount) => `/payment/pay/${id}/${amount}` },
    }),
    ...orderMoves(caller, { items, orders }, batchInit?.items),
  ];
}

/**
 * batch_init of every service, each twice at once and while checkouts run on its rows, and
 * checkouts of its numeric orders: the rows are overwritten by contract, so they are exercised, not counted.
 */
function batchInitMoves(
  caller: StormCaller,
  { items: n, users: u, orders: o }: { readonly items: number; readonly users: number; readonly orders: number },
): Move[] {
  return [
    [
      3,
      () =>
        Promise.all([
          caller.call('batch_init stock', 'POST', `/stock/batch_init/${n}/100/1`),
          caller.call('batch_init stock', 'POST', `/stock/batch_init/${n}/100/1`),
        ]),
    ],
    [
      3,
      () =>
        Promise.all([
          caller.call('batch_init payment', 'POST', `/payment/batch_init/${u}/100`),
          caller.call('batch_init payment', 'POST', `/payment/batch_init/${u}/100`),
        ]),
    ],
    [
      3,
      () =>
        Promise.all([
          caller.call('batch_init orders', 'POST', `/orders/batch_init/${o}/${n}/${u}/1`),
          caller.call('batch_init orders', 'POST', `/orders/batch_init/${o}/${n}/${u}/1`),
        ]),
    ],
    [10, (random) => caller.call('checkout numeric', 'POST', `/orders/checkout/${Math.floor(random() * o)}`)],
  ];
}

/** One kind of balance (stock of items, credit of users), as the moves on it name and reach it. */
interface Balance {
  readonly ids: readonly string[];
  readonly book: Map<string, bigint>;
  readonly field: 'stock' | 'credit';
  readonly step: number;
  readonly find: { readonly kind: string; readonly path: (id: string) => string };
  readonly add: { readonly kind: string; readonly path: (id: string, amount: bigint | number) => string };
  readonly take: { readonly kind: string; readonly path: (id: string, amount: number) => string };
}

/**
 * Adds (a little, or up to the cap) and takes (a little, or all of it) on one kind of balance,
 * writing every change that succeeded in the storm's ledger: the conservation check needs what
 * the shop was asked to do beside what its checkouts did.
 */
function balanceMoves(caller: StormCaller, balance: Balance): Move[] {
  const pickId = (random: () => number) => balance.ids[Math.floor(random() * balance.ids.length)]!;
  const current = async (id: string) => {
    const found = await caller.call(balance.find.kind, 'GET', balance.find.path(id));
    return found.status === 200 ? (found.body[balance.field] as number) : undefined;
  };
  return [
    [
      10,
      async (random) => {
        const id = pickId(random);
        const amount = 1 + Math.floor(random() * balance.step);
        if ((await caller.keyedCall(balance.add.kind, balance.add.path(id, amount))).status === 200)
          change(balance.book, id, BigInt(amount));
      },
    ],
    [
      2,
      async (random) => {
        // Up to the cap: what checkouts hold counts toward it, so this may well be refused.
        const id = pickId(random);
        const now = await current(id);
        if (now === undefined) return;
        const amount = LARGEST - BigInt(now);
        if (amount <= 0n) return;
        if ((await caller.keyedCall(`${balance.add.kind} to the cap`, balance.add.path(id, amount))).status === 200)
          change(balance.book, id, amount);
      },
    ],
    [
      10,
      async (random) => {
        const id = pickId(random);
        const now = await current(id);
        if (now === undefined || now <= 0) return;
        // Half the time all of it, down to zero.
        const amount = random() < 0.5 ? now : 1 + Math.floor(random() * Math.min(balance.step, now));
        if ((await caller.keyedCall(balance.take.kind, balance.take.path(id, amount))).status === 200)
          change(balance.book, id, -BigInt(amount));
      },
    ],
  ];
}

/** Called only for a write answered 200: one refused, or whose outcome stayed unknown, changed nothing the check may count. */
function change(book: Map<string, bigint>, id: string, delta: bigint): void {
  book.set(id, book.get(id)! + delta);
}

/**
 * Items added to orders while they are being checked out, one order checked out twice at once,
 * and finds: the races a shopper's own double clicks make. `batchInitItems`, when batch_init
 * runs, lets half the finds read its numeric items instead.
 */
function orderMoves(
  caller: StormCaller,
  { items, orders }: Pick<StormRows, 'items' | 'orders'>,
  batchInitItems: number | undefined,
): Move[] {
  return [
    [
      8,
      (random) =>
        caller.keyedCall(
          'addItem',
          `/orders/addItem/${orders[Math.floor(random() * ORDERS)]}/${items[Math.floor(random() * ITEMS)]}/${1 + Math.floor(random() * 3)}`,
        ),
    ],
    [8, (random) => caller.call('checkout', 'POST', `/orders/checkout/${orders[Math.floor(random() * ORDERS)]}`)],
    [
      4,
      (random) => {
        const orderId = orders[Math.floor(random() * ORDERS)]!;
        return Promise.all([
          caller.call('checkout at once', 'POST', `/orders/checkout/${orderId}`),
          caller.call('checkout at once', 'POST', `/orders/checkout/${orderId}`),
        ]);
      },
    ],
    [
      6,
      (random) =>
        caller.call(
          'find',
          'GET',
          random() < 0.5 || batchInitItems === undefined
            ? `/orders/find/${orders[Math.floor(random() * ORDERS)]}`
            : `/stock/find/${Math.floor(random() * batchInitItems)}`,
        ),
    ],
  ];
}
