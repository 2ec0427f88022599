import http from 'node:http';
import type net from 'node:net';
import { itemPrice } from '../../../functions/order/stock-client';
import { NotFoundError, UnavailableError } from '../../../layers/errors';

/** The stock service as an HTTP server answering `status` with `body` to every request. */
async function stockService(status: number, body: unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('itemPrice', () => {
  it('reads the price the stock service gives', async () => {
    const stock = await stockService(200, { stock: 3, price: 7 });
    await expect(itemPrice(stock.url, 'i1')).resolves.toBe(7);
    await stock.close();
  });

  it('is a 404 naming the item when the stock service does not know it', async () => {
    const stock = await stockService(404, { error: 'item i1 not found', code: 'item_not_found' });
    await expect(itemPrice(stock.url, 'i1')).rejects.toEqual(new NotFoundError('item i1 not found'));
    await stock.close();
  });

  it('is a 503, to retry, when the stock service is unavailable', async () => {
    const stock = await stockService(503, { error: 'no function instance answered', code: 'unavailable' });
    const refusal = itemPrice(stock.url, 'i1');
    await expect(refusal).rejects.toBeInstanceOf(UnavailableError);
    await expect(refusal).rejects.toThrow('stock service answered 503 for item i1');
    await stock.close();
  });

  it('is a 503 when nothing answers at all', async () => {
    const stock = await stockService(200, {});
    await stock.close();
    await expect(itemPrice(stock.url, 'i1')).rejects.toBeInstanceOf(UnavailableError);
  });
});
