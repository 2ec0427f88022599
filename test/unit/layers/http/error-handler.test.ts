import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ConflictError, NotFoundError } from '../../../../layers/errors';
import { SlotMovedError } from '../../../../layers/db/shards';
import { httpErrorHandler } from '../../../../layers/http/error-handler';
import { logger } from '../../../../layers/logging/logger';

/** The reply the handler chain's error mapping gives for `error`. */
async function replyTo(error: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
  const request = { event: { routeKey: 'POST /orders/checkout/{order_id}' }, error, response: undefined } as unknown as middy.Request<
    APIGatewayProxyEventV2,
    APIGatewayProxyStructuredResultV2
  >;
  await httpErrorHandler().onError!(request);
  const response = request.response!;
  return { status: response.statusCode!, headers: response.headers ?? {}, body: JSON.parse(response.body!) };
}

beforeEach(() => {
  jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  jest.spyOn(logger, 'error').mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('error replies', () => {
  it('carry the message for people and a stable code for programs', async () => {
    expect(await replyTo(new ConflictError('item 7 has 0 in stock, fewer than 1', { code: 'insufficient_stock' }))).toEqual({
      status: 409,
      headers: { 'content-type': 'application/json' },
      body: { error: 'item 7 has 0 in stock, fewer than 1', code: 'insufficient_stock' },
    });
  });

  it('fall back to the code of their kind', async () => {
    expect((await replyTo(new NotFoundError('order 3 not found'))).body).toEqual({ error: 'order 3 not found', code: 'not_found' });
    expect((await replyTo(new ConflictError('no'))).body).toEqual({ error: 'no', code: 'conflict' });
  });

  it('say when to try a 503 again', async () => {
    const moved = await replyTo(new SlotMovedError('item 7'));
    expect(moved).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { code: 'unavailable' } });
    const unreachable = await replyTo(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:24410'), { code: 'ECONNREFUSED' }));
    expect(unreachable).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { code: 'unavailable' } });
    const locked = await replyTo(Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }));
    expect(locked).toMatchObject({ status: 503, headers: { 'retry-after': '1' }, body: { code: 'unavailable' } });
  });

  it('hide what a bug was, and say it is one', async () => {
    const reply = await replyTo(new TypeError("cannot read properties of undefined (reading 'slot')"));
    expect(reply.status).toBe(500);
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(reply.body).toEqual({ error: expect.not.stringContaining('slot'), code: 'internal' });
  });
});
