/**
 * What a checkout finds when it claims its order: the shape the use case decides on, whichever
 * statement (`layers/coordinator/claim-statement.ts`) reads it.
 */
import type { LoggedRouting } from './routing';

/** The order as a checkout found it: as claimed, when this checkout claimed it; else as read. */
export interface OrderForCheckout {
  readonly user_id: string;
  readonly paid: boolean;
  readonly total_cost: number;
  readonly items: Record<string, number>;
  readonly checkout_txn: string | null;
  /** Whether this checkout claimed it: the order is now being checked out by `txnId`, and logged. */
  readonly claimed: boolean;
  /**
   * The transaction's routing as logged with it (each item's stock shard, the user's payment
   * shard): when claimed, and when joined while it is logged; null while it is not, or for an
   * entry logged before routings were.
   */
  readonly routes: LoggedRouting | null;
}

/** What a claim finds: the order, 'moved' when this shard does not own its slot (a stale map, a move), undefined when there is no such order. */
export type ClaimFound = OrderForCheckout | 'moved' | undefined;
