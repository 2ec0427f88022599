import { EscrowBalances } from '../../layers/db/escrow';
import type { InstructionOf, StockLine } from '../../layers/twopc/messages';
import type { Ledger } from '../../layers/participant/participant-batch';
import { ITEMS } from './items';

/**
 * Stock held in escrow: a prepare moves the quantities from the item's free stock to its held
 * stock at once (so no other checkout can promise the same units), a rollback moves them back,
 * a commit lets them go.
 */
export function stockLedger(): Ledger<InstructionOf<'stock'>, StockLine[]> {
  const balances = new EscrowBalances(ITEMS);

  const totals = (lines: readonly StockLine[]) => {
    const byItem = new Map<string, number>();
    for (const { itemId, quantity } of lines) byItem.set(itemId, (byItem.get(itemId) ?? 0) + quantity);
    return byItem;
  };

  return {
    keysOf: (prepare) => prepare.items.map((line) => line.itemId),

    // One array of ids, then one index lookup each: an OR across a sub-select made PostgreSQL
    // scan the whole table on every batch (a cost growing with the shard, not the batch).
    async load(sql, prepares, txnIds) {
      const ids = new Set<string>();
      for (const prepare of prepares) for (const line of prepare.items) ids.add(line.itemId);
      balances.remember(
        await sql<{ id: string; free: number; held: number }[]>`
        select item_id as id, stock::float8 as free, held::float8 as held from items
        where item_id = any(array(
          select unnest(${sql.array([...ids])}::text[])
          union
          select line ->> 'itemId' from participations, jsonb_array_elements(held) as line
          where txn_id = any(${sql.array([...txnIds])}::text[]) and state = 'prepared'))
        order by item_id for update`,
      );
    },

    tryReserve(prepare) {
      const lines = prepare.items;
      const wanted = totals(lines);
      for (const [itemId, quantity] of wanted) {
        const available = balances.free(itemId);
        if (available === undefined) return { reservation: { ok: false, refusal: 'not_found', detail: `item ${itemId} not found` } };
        if (available < quantity) {
          return {
            reservation: { ok: false, refusal: 'insufficient', detail: `item ${itemId} has ${available} in stock, fewer than ${quantity}` },
          };
        }
      }
      for (const [itemId, quantity] of wanted) balances.reserve(itemId, quantity);
      return { reservation: { ok: true }, held: [...lines] };
    },

    release(lines) {
      for (const [itemId, quantity] of totals(lines)) balances.giveBack(itemId, quantity);
    },

    keep(lines) {
      for (const [itemId, quantity] of totals(lines)) balances.keep(itemId, quantity);
    },

    save: (sql) => balances.save(sql),
  };
}
