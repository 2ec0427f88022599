import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { type ShopClient, worthRetrying } from './client';
import { seededRandom } from './seeded-random';

/**
 * A storm of concurrent, legal API calls, chosen by a seeded generator so that a failure can be
 * replayed: batch_init of every service (two at once, and while checkouts run), stock and credit
 * added up to the cap and taken down to zero, items added to orders being checked out, one order
 * checked out several times at once, finds. Afterwards it checks what a user could: every call
 * answered within a bound and none with a 500, and stock and money conserved exactly over the
 * storm's own items, users and orders (batch_init overwrites its rows "0" … "n-1" by contract,
 * so those are exercised, not counted).
 */
export interface StormSettings {
  readonly seed: number;
  readonly durationMs: number;
  /** when given, the storm also lasts until this settles (a shard move running beside it) */
  readonly lastsUntil?: Promise<unknown>;
  /** calls in flight at once */
  readonly concurrency: number;
  /** batch_init sizes; without them the storm makes no batch_init calls (a load runs on those rows and counts them) */
  readonly batchInit?: { readonly items: number; readonly users: number; readonly orders: number };
  /** the longest a call may take to be answered */
  readonly boundMs: number;
  /** told when the storm's own items, users and orders exist and its calls begin */
  readonly onCallsBegin?: () => void;
}

export interface StormReport {
  readonly seed: number;
  readonly calls: number;
  /** per kind of call, how many answered each status (0: no reply) */
  readonly statuses: Record<string, Record<number, number>>;
  readonly slowestMs: number;
  readonly violations: string[];
}

const LARGEST = 2n ** 53n - 1n;
const ITEMS = 12;
const USERS = 12;
const ORDERS = 40;
const START_STOCK = 1_000;
const START_CREDIT = 1_000_000;
/** How often a keyed write is sent while its outcome is unknown or nothing was written. */
const KEYED_TRIES = 10;

interface Ledger {
  /** what successful adds minus successful takes changed, per item and per user */
  readonly stock: Map<string, bigint>;
  readonly credit: Map<string, bigint>;
}

/** Runs the storm, then checks it; the caller waits for every transaction to finish first (`settled`). */
export async function runStorm(client: ShopClient, settings: StormSettings, settled: () => Promise<void>): Promise<StormReport> {
  const pick = seededRandom(settings.seed);
  const items = await Promise.all(
    Array.from({ length: ITEMS }, async (_, index) => {
      const itemId = await client.createItem(1 + (index % 5));
      await client.addStock(itemId, START_STOCK);
      return itemId;
    }),
  );
  const users = await Promise.all(
    Array.from({ length: USERS }, async () => {
      const userId = await client.createUser();
      await client.addFunds(userId, START_CREDIT);
      return userId;
    }),
  );
  const orders = await Promise.all(
    Array.from({ length: ORDERS }, async (_, index) => {
      const orderId = await client.createOrder(users[index % USERS]!);
      for (let line = 0; line <= index % 3; line++)
        await client.addItem(orderId, items[Math.floor(pick() * ITEMS)]!, 1 + Math.floor(pick() * 3));
      return orderId;
    }),
  );

  settings.onCallsBegin?.();
  const ledger: Ledger = { stock: new Map(items.map((id) => [id, 0n])), credit: new Map(users.map((id) => [id, 0n])) };
  const statuses: Record<string, Record<number, number>> = {};
  const violations: string[] = [];
  let calls = 0;
  let slowestMs = 0;
  const call = async (
    kind: string,
    method: 'GET' | 'POST',
    path: string,
    idempotencyKey?: string,
  ): Promise<{ status: number; body: Record<string, unknown>; replayed?: boolean }> => {
    const started = Date.now();
    let reply: { status: number; body: Record<string, unknown>; replayed?: boolean };
    try {
      reply = await client.request(method, path, { idempotencyKey });
    } catch (error) {
      reply = { status: 0, body: { error: String(error) } };
    }
    const ms = Date.now() - started;
    calls++;
    slowestMs = Math.max(slowestMs, ms);
    statuses[kind] ??= {};
    statuses[kind][reply.status] = (statuses[kind][reply.status] ?? 0) + 1;
    if (ms > settings.boundMs) violations.push(`${method} ${path} took ${ms} ms (bound ${settings.boundMs} ms), answered ${reply.status}`);
    // An unknown outcome is the truth about a write whose connection was lost; its key resolves it (`keyedCall`).
    if (reply.status === 0 || (reply.status >= 500 && reply.status !== 503 && reply.body.code !== 'outcome_unknown'))
      violations.push(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body).slice(0, 200)}`);
    return reply;
  };
  /**
   * A write as a careful client sends it: with an Idempotency-Key, sent again with it until its
   * outcome is known. A replay after nothing but 503s means a 503 said "nothing written" of a
   * write that happened.
   */
  const keyedCall = async (kind: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const idempotencyKey = randomUUID();
    const earlier: number[] = [];
    for (let attempt = 1; ; attempt++) {
      const reply = await call(kind, 'POST', path, idempotencyKey);
      if (reply.replayed && earlier.length > 0 && earlier.every((status) => status === 503))
        violations.push(`POST ${path}: answered 503 (nothing written) ${earlier.length} times, then its retry found it written`);
      earlier.push(reply.status);
      if (!worthRetrying(reply)) return reply;
      if (attempt === KEYED_TRIES) {
        if (reply.body.code === 'outcome_unknown')
          violations.push(`POST ${path}: outcome still unknown after ${KEYED_TRIES} tries with its key`);
        return reply;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  };
  const { items: n, users: u, orders: o } = settings.batchInit ?? { items: 0, users: 0, orders: 0 };
  const change = (book: Map<string, bigint>, id: string, delta: bigint) => book.set(id, book.get(id)! + delta);

  /** Adds (a little, or up to the cap) and takes (a little, or all of it) on one kind of balance, keeping the ledger. */
  const balanceMoves = (balance: {
    readonly ids: readonly string[];
    readonly book: Map<string, bigint>;
    readonly field: 'stock' | 'credit';
    readonly step: number;
    readonly find: { readonly kind: string; readonly path: (id: string) => string };
    readonly add: { readonly kind: string; readonly path: (id: string, amount: bigint | number) => string };
    readonly take: { readonly kind: string; readonly path: (id: string, amount: number) => string };
  }): [number, (random: () => number) => Promise<unknown>][] => {
    const pickId = (random: () => number) => balance.ids[Math.floor(random() * balance.ids.length)]!;
    const current = async (id: string) => {
      const found = await call(balance.find.kind, 'GET', balance.find.path(id));
      return found.status === 200 ? (found.body[balance.field] as number) : undefined;
    };
    return [
      [
        10,
        async (random) => {
          const id = pickId(random);
          const amount = 1 + Math.floor(random() * balance.step);
          if ((await keyedCall(balance.add.kind, balance.add.path(id, amount))).status === 200) change(balance.book, id, BigInt(amount));
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
          if ((await keyedCall(`${balance.add.kind} to the cap`, balance.add.path(id, amount))).status === 200)
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
          if ((await keyedCall(balance.take.kind, balance.take.path(id, amount))).status === 200) change(balance.book, id, -BigInt(amount));
        },
      ],
    ];
  };

  // Each kind of call with its weight; `random` is the caller's own generator, so every caller's sequence replays.
  // Without batch_init sizes, neither batch_init nor the numeric orders and items it makes.
  const numeric: [number, (random: () => number) => Promise<unknown>][] = settings.batchInit
    ? [
        [
          3,
          () =>
            Promise.all([
              call('batch_init stock', 'POST', `/stock/batch_init/${n}/100/1`),
              call('batch_init stock', 'POST', `/stock/batch_init/${n}/100/1`),
            ]),
        ],
        [
          3,
          () =>
            Promise.all([
              call('batch_init payment', 'POST', `/payment/batch_init/${u}/100`),
              call('batch_init payment', 'POST', `/payment/batch_init/${u}/100`),
            ]),
        ],
        [
          3,
          () =>
            Promise.all([
              call('batch_init orders', 'POST', `/orders/batch_init/${o}/${n}/${u}/1`),
              call('batch_init orders', 'POST', `/orders/batch_init/${o}/${n}/${u}/1`),
            ]),
        ],
        [10, (random) => call('checkout numeric', 'POST', `/orders/checkout/${Math.floor(random() * o)}`)],
      ]
    : [];
  const moves: [number, (random: () => number) => Promise<unknown>][] = [
    ...numeric,
    ...balanceMoves({
      ids: items,
      book: ledger.stock,
      field: 'stock',
      step: 50,
      find: { kind: 'stock find', path: (id) => `/stock/find/${id}` },
      add: { kind: 'stock add', path: (id, amount) => `/stock/add/${id}/${amount}` },
      take: { kind: 'stock subtract', path: (id, amount) => `/stock/subtract/${id}/${amount}` },
    }),
    ...balanceMoves({
      ids: users,
      book: ledger.credit,
      field: 'credit',
      step: 500,
      find: { kind: 'find_user', path: (id) => `/payment/find_user/${id}` },
      add: { kind: 'add_funds', path: (id, amount) => `/payment/add_funds/${id}/${amount}` },
      take: { kind: 'pay', path: (id, amount) => `/payment/pay/${id}/${amount}` },
    }),
    [
      8,
      (random) =>
        keyedCall(
          'addItem',
          `/orders/addItem/${orders[Math.floor(random() * ORDERS)]}/${items[Math.floor(random() * ITEMS)]}/${1 + Math.floor(random() * 3)}`,
        ),
    ],
    [8, (random) => call('checkout', 'POST', `/orders/checkout/${orders[Math.floor(random() * ORDERS)]}`)],
    [
      4,
      (random) => {
        const orderId = orders[Math.floor(random() * ORDERS)]!;
        return Promise.all([
          call('checkout at once', 'POST', `/orders/checkout/${orderId}`),
          call('checkout at once', 'POST', `/orders/checkout/${orderId}`),
        ]);
      },
    ],
    [
      6,
      (random) =>
        call(
          'find',
          'GET',
          random() < 0.5 || !settings.batchInit
            ? `/orders/find/${orders[Math.floor(random() * ORDERS)]}`
            : `/stock/find/${Math.floor(random() * n)}`,
        ),
    ],
  ];
  const totalWeight = moves.reduce((sum, [weight]) => sum + weight, 0);
  const until = Date.now() + settings.durationMs;
  let besideRunning = settings.lastsUntil !== undefined;
  settings.lastsUntil?.finally(() => (besideRunning = false)).catch(() => undefined);
  await Promise.all(
    Array.from({ length: settings.concurrency }, async (_, caller) => {
      const random = seededRandom(settings.seed * 1_000 + caller);
      while (Date.now() < until || besideRunning) {
        let roll = random() * totalWeight;
        const move =
          moves.find(([weight]) => {
            roll -= weight;
            return roll < 0;
          }) ?? moves.at(-1)!;
        await move[1](random);
      }
    }),
  );

  await settled();
  violations.push(...(await conservationOfStorm(client, { items, users, orders, ledger })));
  return { seed: settings.seed, calls, statuses, slowestMs, violations };
}

/** Start + what the ledger says was added and taken = what is left + what the paid orders took, per item and per user. */
async function conservationOfStorm(
  client: ShopClient,
  { items, users, orders, ledger }: { items: string[]; users: string[]; orders: string[]; ledger: Ledger },
): Promise<string[]> {
  const takenStock = new Map(items.map((id) => [id, 0n]));
  const takenCredit = new Map(users.map((id) => [id, 0n]));
  for (const orderId of orders) {
    const order = await client.order(orderId);
    if (!order.paid) continue;
    for (const [itemId, quantity] of order.items) takenStock.set(itemId, takenStock.get(itemId)! + BigInt(quantity));
    takenCredit.set(order.user_id, takenCredit.get(order.user_id)! + BigInt(order.total_cost));
  }
  const violations: string[] = [];
  for (const itemId of items) {
    const left = BigInt(await client.stock(itemId));
    const expected = BigInt(START_STOCK) + ledger.stock.get(itemId)!;
    if (expected !== left + takenStock.get(itemId)!)
      violations.push(
        `stock of item ${itemId}: ${START_STOCK} + ${ledger.stock.get(itemId)} changed by add/subtract ≠ ${left} left + ${takenStock.get(itemId)} taken by paid orders`,
      );
  }
  for (const userId of users) {
    const left = BigInt(await client.credit(userId));
    const expected = BigInt(START_CREDIT) + ledger.credit.get(userId)!;
    if (expected !== left + takenCredit.get(userId)!)
      violations.push(
        `credit of user ${userId}: ${START_CREDIT} + ${ledger.credit.get(userId)} changed by add_funds/pay ≠ ${left} left + ${takenCredit.get(userId)} charged to paid orders`,
      );
  }
  return violations;
}

/** Once the storm is over, the shop must serve again at once: an item, a user and an order made, checked out and paid within `withinMs`. */
export async function servesAgain(client: ShopClient, withinMs: number): Promise<string[]> {
  const started = Date.now();
  try {
    const itemId = await client.createItem(2);
    await client.addStock(itemId, 3);
    const userId = await client.createUser();
    await client.addFunds(userId, 10);
    const orderId = await client.createOrder(userId);
    await client.addItem(orderId, itemId, 2);
    const { status } = await client.checkout(orderId);
    const ms = Date.now() - started;
    if (status !== 200) return [`after the storm, a checkout answered ${status}`];
    if (ms > withinMs) return [`after the storm, making and checking out an order took ${ms} ms (bound ${withinMs} ms)`];
    return [];
  } catch (error) {
    return [`after the storm, the shop did not serve: ${error instanceof Error ? error.message : String(error)}`];
  }
}

/** Locks held, or waited for, longer than `boundMs` on any shard: a transaction idle inside, or a statement waiting on a lock. */
export async function longHeldLocks(shards: ReadonlyMap<string, postgres.Sql>, boundMs: number): Promise<string[]> {
  const found: string[] = [];
  for (const [name, sql] of shards) {
    const rows = await sql<{ pid: number; state: string; wait: string | null; held_ms: number; query: string }[]>`
      select pid, state, wait_event_type as wait, (extract(epoch from now() - xact_start) * 1000)::int as held_ms, left(query, 120) as query
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
        and now() - xact_start > ${boundMs} * interval '1 millisecond'
        and (state like 'idle in transaction%' or wait_event_type = 'Lock')`;
    for (const row of rows)
      found.push(`${name}: pid ${row.pid} ${row.state}${row.wait ? ` waiting on ${row.wait}` : ''} for ${row.held_ms} ms: ${row.query}`);
  }
  return found;
}
