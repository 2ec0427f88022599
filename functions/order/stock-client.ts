import { NotFoundError, UnavailableError } from '../../layers/errors';

/**
 * The stock service as the order service sees it: through its public HTTP API, since each
 * service owns its data. Used for an item's price when it is added to an order.
 */
export async function itemPrice(stockApiUrl: string, itemId: string): Promise<number> {
  // The order has not changed yet: a stock service that cannot answer makes this a 503, retried.
  const response = await fetch(`${stockApiUrl}/stock/find/${encodeURIComponent(itemId)}`, { signal: AbortSignal.timeout(10_000) }).catch(
    (error: unknown) => {
      throw new UnavailableError(
        `stock service did not answer for item ${itemId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  );
  if (response.status === 404) throw new NotFoundError(`item ${itemId} not found`, { code: 'item_not_found' });
  if (response.status >= 500) throw new UnavailableError(`stock service answered ${response.status} for item ${itemId}`);
  if (!response.ok) throw new Error(`stock service answered ${response.status} for item ${itemId}`);
  const { price } = (await response.json()) as { price: unknown };
  if (!Number.isSafeInteger(price)) throw new Error(`stock service gave item ${itemId} a price that is not a whole number`);
  return price as number;
}
