import type { ShopClient } from './client';

/** How many items, users and orders the storm makes for itself: few, so that its calls collide on them. */
export const ITEMS = 12;
export const USERS = 12;
export const ORDERS = 40;
export const START_STOCK = 1_000;
export const START_CREDIT = 1_000_000;

/**
 * The storm's own rows, made with random ids: unlike the batch_init rows, which batch_init
 * overwrites by contract, nothing but the storm changes them, so their balances can be counted.
 */
export interface StormRows {
  readonly items: string[];
  readonly users: string[];
  readonly orders: string[];
}

/** What the storm's own successful adds minus successful takes changed, per item and per user: the side of the books the shop does not keep. */
export interface StormLedger {
  readonly stock: Map<string, bigint>;
  readonly credit: Map<string, bigint>;
}

/** Items with stock, users with credit, and orders of one to three lines drawn by `pick`, so that the storm replays from its seed. */
export async function makeStormRows(client: ShopClient, pick: () => number): Promise<StormRows> {
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
  return { items, users, orders };
}

/** A ledger at zero for every row: the storm counts only its own changes. */
export function emptyLedger({ items, users }: StormRows): StormLedger {
  return { stock: new Map(items.map((id) => [id, 0n])), credit: new Map(users.map((id) => [id, 0n])) };
}
