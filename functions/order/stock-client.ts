import { NotFoundError } from '../../layers/errors';

/**
 * The stock service as the order service sees it: through its public HTTP API, since each
 * service owns its data. Used for an item's price when it is added to an order.
 */
export async function itemPrice(stockApiUrl: string, itemId: string): Promise<number> {
  const response = await fetch(`${stockApiUrl}/stock/find/${encodeURIComponent(itemId)}`, { signal: AbortSignal.timeout(10_000) });
  if (response.status === 404) throw new NotFoundError(`item ${itemId} not found`, { code: 'item_not_found' });
  if (!response.ok) throw new Error(`stock service answered ${response.status} for item ${itemId}`);
  const { price } = (await response.json()) as { price: unknown };
  if (!Number.isSafeInteger(price)) throw new Error(`stock service gave item ${itemId} a price that is not a whole number`);
  return price as number;
}
