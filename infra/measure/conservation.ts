import type postgres from 'postgres';

/** Stock and credit in the batch_init rows "0" … "n-1", summed over every shard. */
export interface Totals {
  readonly stock: number;
  readonly credit: number;
}

interface Taken {
  readonly stock: number;
  readonly credit: number;
}

/** Rows "0" … "n-1" of batch_init, not the rows the tests create with random ids. */
const numericBelow = (sql: postgres.Sql, column: string, n: number) => sql`${sql(column)} ~ '^[0-9]+$' and ${sql(column)}::bigint < ${n}`;

/** Current totals, and what the paid batch_init orders took, read directly from the shards. */
export async function totalsOf(
  shards: Map<string, postgres.Sql>,
  sizes: { items: number; users: number; orders: number },
): Promise<Totals & { taken: Taken }> {
  let stock = 0;
  let credit = 0;
  let takenStock = 0;
  let takenCredit = 0;
  for (const [name, sql] of shards) {
    if (name.startsWith('stock-')) {
      stock += Number(
        (await sql`select coalesce(sum(stock), 0)::text as s from items where ${numericBelow(sql, 'item_id', sizes.items)}`)[0]!.s,
      );
    } else if (name.startsWith('payment-')) {
      credit += Number(
        (await sql`select coalesce(sum(credit), 0)::text as s from users where ${numericBelow(sql, 'user_id', sizes.users)}`)[0]!.s,
      );
    } else if (name.startsWith('order-')) {
      const [row] = await sql`
        select coalesce(sum(total_cost), 0)::text as credit,
               coalesce(sum((select sum(value::bigint) from jsonb_each_text(items))), 0)::text as stock
        from orders where paid and ${numericBelow(sql, 'order_id', sizes.orders)}`;
      takenCredit += Number(row!.credit);
      takenStock += Number(row!.stock);
    }
  }
  return { stock, credit, taken: { stock: takenStock, credit: takenCredit } };
}

/** Initial = current + taken by paid orders, for stock and for money; each break is named. */
export function conservationViolations(initial: Totals, now: Totals & { taken: Taken }): string[] {
  const violations: string[] = [];
  if (initial.stock !== now.stock + now.taken.stock) {
    violations.push(`stock not conserved: initial ${initial.stock} ≠ current ${now.stock} + taken by paid orders ${now.taken.stock}`);
  }
  if (initial.credit !== now.credit + now.taken.credit) {
    violations.push(`money not conserved: initial ${initial.credit} ≠ current ${now.credit} + charged to paid orders ${now.taken.credit}`);
  }
  return violations;
}
