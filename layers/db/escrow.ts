import type postgres from 'postgres';
import type { BalanceTable } from './balances';
import type { PendingWrites } from './pipelined-transaction';

interface Balance {
  free: number;
  held: number;
}

/**
 * One batch's view of the balances it has locked, kept in memory until it writes them back in
 * one statement. A reservation moves an amount from free to held; giving it back moves it home;
 * keeping it (a commit) lets it go. Free plus held never grows, so a decision cannot fail on the
 * balance's upper bound, whatever was added meanwhile.
 */
export class EscrowBalances {
  private readonly balances = new Map<string, Balance>();
  private readonly changed = new Set<string>();

  constructor(private readonly spec: BalanceTable) {}

  /** Takes in rows the batch has read under lock. */
  remember(rows: readonly { id: string; free: number; held: number }[]): void {
    for (const { id, free, held } of rows) this.balances.set(id, { free, held });
  }

  /** What is free to reserve, or undefined when the row does not exist. */
  free(id: string): number | undefined {
    return this.balances.get(id)?.free;
  }

  reserve(id: string, amount: number): void {
    this.move(id, -amount, amount);
  }

  giveBack(id: string, amount: number): void {
    this.move(id, amount, -amount);
  }

  keep(id: string, amount: number): void {
    this.move(id, 0, -amount);
  }

  /** The statement writing every changed balance back, unsent; none when nothing changed. */
  save(sql: postgres.TransactionSql): PendingWrites {
    if (this.changed.size === 0) return [];
    const ids = [...this.changed];
    const rows = ids.map((id) => this.balances.get(id)!);
    const { table, id, balance } = this.spec;
    return [
      sql`
      update ${sql(table)} set ${sql(balance)} = v.free, held = v.held
      from unnest(${sql.array(ids)}::text[], ${sql.array(rows.map((row) => row.free))}::bigint[],
                  ${sql.array(rows.map((row) => row.held))}::bigint[]) as v(id, free, held)
      where ${sql(id)} = v.id`,
    ];
  }

  private move(id: string, toFree: number, toHeld: number): void {
    // A row the batch did not lock can only be one deleted by hand; the write then matches nothing.
    const row = this.balances.get(id) ?? { free: 0, held: 0 };
    row.free += toFree;
    row.held += toHeld;
    this.balances.set(id, row);
    this.changed.add(id);
  }
}
