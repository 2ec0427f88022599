import type postgres from 'postgres';
import type { Instruction, PrepareStock, StockLine } from '../../layers/twopc/messages';
import type { Ledger } from '../../layers/twopc/participant-batch';

/**
 * Stock held in escrow: a prepare takes the quantities off the items at once (so no other
 * checkout can promise the same units), a rollback puts them back, a commit keeps them taken.
 */
export function stockLedger(): Ledger<Instruction, StockLine[]> {
  const stock = new Map<string, number>();
  const changed = new Set<string>();

  const totals = (lines: readonly StockLine[]) => {
    const byItem = new Map<string, number>();
    for (const { itemId, quantity } of lines) byItem.set(itemId, (byItem.get(itemId) ?? 0) + quantity);
    return byItem;
  };

  return {
    // One array of ids, then one index lookup each: an OR across a sub-select made PostgreSQL
    // scan the whole table on every batch (a cost growing with the shard, not the batch).
    async load(sql, prepares, txnIds) {
      const ids = new Set<string>();
      for (const prepare of prepares) for (const line of (prepare as PrepareStock).items) ids.add(line.itemId);
      const rows = await sql<{ item_id: string; stock: number }[]>`
        select item_id, stock::float8 as stock from items
        where item_id = any(array(
          select unnest(${sql.array([...ids])}::text[])
          union
          select line ->> 'itemId' from participations, jsonb_array_elements(held) as line
          where txn_id = any(${sql.array([...txnIds])}::text[]) and state = 'prepared'))
        order by item_id for update`;
      for (const row of rows) stock.set(row.item_id, row.stock);
    },

    tryReserve(prepare) {
      const lines = (prepare as PrepareStock).items;
      const wanted = totals(lines);
      for (const [itemId, quantity] of wanted) {
        const available = stock.get(itemId);
        if (available === undefined) return { reservation: { ok: false, refusal: 'not_found', detail: `item ${itemId} not found` } };
        if (available < quantity) {
          return { reservation: { ok: false, refusal: 'insufficient', detail: `item ${itemId} has ${available} in stock, fewer than ${quantity}` } };
        }
      }
      for (const [itemId, quantity] of wanted) {
        stock.set(itemId, stock.get(itemId)! - quantity);
        changed.add(itemId);
      }
      return { reservation: { ok: true }, held: [...lines] };
    },

    release(lines) {
      for (const [itemId, quantity] of totals(lines)) {
        stock.set(itemId, (stock.get(itemId) ?? 0) + quantity);
        changed.add(itemId);
      }
    },

    save(sql) {
      if (changed.size === 0) return [];
      const ids = [...changed];
      return [
        sql`
        update items set stock = v.stock
        from unnest(${sql.array(ids)}::text[], ${sql.array(ids.map((id) => stock.get(id)!))}::bigint[]) as v(item_id, stock)
        where items.item_id = v.item_id`,
      ];
    },
  };
}
