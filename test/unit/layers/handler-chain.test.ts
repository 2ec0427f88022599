/**
 * The handler chains every function is built from (`apiHandler`, `kafkaHandler`), assembled as
 * the functions assemble them, invoked with a Lambda context and API Gateway and Kafka events as
 * AWS sends them. No database is attached (no shard counts), so nothing leaves the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { DatabaseContext } from '../../../layers/db/middleware';
import { ConflictError } from '../../../layers/errors';
import { apiHandler } from '../../../layers/http/api-handler';
import type { Route } from '../../../layers/http/router';
import { kafkaHandler } from '../../../layers/kafka/kafka-handler';
import type { DecodedRecord } from '../../../layers/kafka/records';
import { logger } from '../../../layers/logging/logger';

const context = {
  functionName: 'shop-test-stockApi',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:shop-test-stockApi',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  logGroupName: '/aws/lambda/shop-test-stockApi',
  logStreamName: '2026/12/05/[$LATEST]abcdef',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 28_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;
// Lambda passes a plain context; the chains' types name it as their middleware leaves it (databases attached).
const lambdaContext = context as DatabaseContext;

function apiEvent(routeKey: string, pathParameters: Record<string, string>): APIGatewayProxyEventV2 {
  const [method, route] = routeKey.split(' ') as [string, string];
  const rawPath = Object.entries(pathParameters).reduce((at, [name, value]) => at.replace(`{${name}}`, value), route);
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { host: 'localhost:8000' },
    pathParameters,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: 'request',
      routeKey,
      stage: '$default',
      time: '05/Dec/2026:08:00:00 +0000',
      timeEpoch: 1_796_457_600_000,
    },
  };
}

const FIND = 'GET /stock/find/{item_id}';
const ADD = 'POST /stock/add/{item_id}/{amount}';

/** A stock API with one route whose behaviour each test sets. */
function stockApi(find: Route<{ readonly calls: string[] }>, routeKey = FIND) {
  const deps = { calls: [] as string[] };
  const handler = apiHandler({ [routeKey]: find }, 'shop/test', {}, () => deps);
  return { deps, invoke: (event: APIGatewayProxyEventV2) => handler(event, lambdaContext) };
}

const lost = (code: string) => Object.assign(new Error(`write ${code}`), { code });

beforeEach(() => {
  for (const level of ['info', 'warn', 'error'] as const) jest.spyOn(logger, level).mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe('an API handler', () => {
  it("routes by the event's routeKey and answers the route's result as JSON", async () => {
    const api = stockApi(async ({ item_id }, deps) => {
      deps.calls.push(item_id!);
      return { body: { stock: 5, price: 2 } };
    });
    const reply = await api.invoke(apiEvent(FIND, { item_id: 'i1' }));
    expect(reply).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stock: 5, price: 2 }),
    });
    expect(api.deps.calls).toEqual(['i1']);
  });

  it('answers a route it does not serve with 404 no_such_route', async () => {
    const reply = await stockApi(async () => ({ body: {} })).invoke(apiEvent('GET /stock/lost/{item_id}', { item_id: 'i1' }));
    expect([reply.statusCode, JSON.parse(reply.body!).code]).toEqual([404, 'no_such_route']);
  });

  it("answers a business rule's refusal with its status, message and code", async () => {
    const reply = await stockApi(async () => {
      throw new ConflictError('item i1 has 1 in stock, fewer than the 3 asked for', { code: 'insufficient_stock' });
    }).invoke(apiEvent(FIND, { item_id: 'i1' }));
    expect(reply.statusCode).toBe(409);
    expect(JSON.parse(reply.body!)).toEqual({ error: 'item i1 has 1 in stock, fewer than the 3 asked for', code: 'insufficient_stock' });
  });

  it('answers a database out of reach with 503 and Retry-After', async () => {
    const reply = await stockApi(async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:24412'), { code: 'ECONNREFUSED' });
    }).invoke(apiEvent(FIND, { item_id: 'i1' }));
    expect([reply.statusCode, reply.headers?.['retry-after'], JSON.parse(reply.body!).code]).toEqual([503, '1', 'unavailable']);
  });

  it('answers a write whose connection was lost in flight with 502 outcome_unknown and no Retry-After: it may have committed', async () => {
    for (const code of ['CONNECTION_CLOSED', 'ECONNRESET', 'EPIPE', 'CONNECTION_DESTROYED']) {
      const reply = await stockApi(async () => {
        throw lost(code);
      }, ADD).invoke(apiEvent(ADD, { item_id: 'i1', amount: '1' }));
      expect([code, reply.statusCode, reply.headers?.['retry-after'], JSON.parse(reply.body!).code]).toEqual([
        code,
        502,
        undefined,
        'outcome_unknown',
      ]);
    }
  });

  it('answers a write that never reached its database, or a read whose connection was lost, with 503: nothing was written', async () => {
    const refused = await stockApi(async () => {
      throw lost('ECONNREFUSED');
    }, ADD).invoke(apiEvent(ADD, { item_id: 'i1', amount: '1' }));
    const read = await stockApi(async () => {
      throw lost('CONNECTION_CLOSED');
    }).invoke(apiEvent(FIND, { item_id: 'i1' }));
    expect([refused.statusCode, read.statusCode]).toEqual([503, 503]);
  });

  it("passes a write's Idempotency-Key to its route with the request's fingerprint, and marks a replayed reply", async () => {
    const seen: unknown[] = [];
    const api = stockApi(async (_, _deps, { writeKey }) => {
      seen.push(writeKey);
      return { body: { stock: 3 }, replayed: true };
    }, ADD);
    const event = apiEvent(ADD, { item_id: 'i1', amount: '1' });
    const quoted = await api.invoke({ ...event, headers: { ...event.headers, 'idempotency-key': '"k-1"' } });
    const bare = await api.invoke({ ...event, headers: { ...event.headers, 'Idempotency-Key': 'k-1' } });
    const other = await api.invoke({ ...event, pathParameters: { item_id: 'i1', amount: '2' }, headers: { 'idempotency-key': 'k-1' } });
    expect(quoted.headers?.['idempotent-replayed']).toBe('true');
    expect(bare.statusCode).toBe(200);
    expect(other.statusCode).toBe(200);
    const [first, second, third] = seen as { key: string; fingerprint: string }[];
    expect([first!.key, second!.key, third!.key]).toEqual(['k-1', 'k-1', 'k-1']);
    expect(second!.fingerprint).toBe(first!.fingerprint);
    expect(third!.fingerprint).not.toBe(first!.fingerprint);
  });

  it('refuses an Idempotency-Key that is empty, too long or not visible ASCII with 400, before the route runs', async () => {
    const api = stockApi(async (_, deps) => {
      deps.calls.push('ran');
      return { body: {} };
    }, ADD);
    const event = apiEvent(ADD, { item_id: 'i1', amount: '1' });
    for (const key of ['', '""', 'x'.repeat(256), 'two words', 'naïve']) {
      const reply = await api.invoke({ ...event, headers: { 'idempotency-key': key } });
      expect([key, reply.statusCode, JSON.parse(reply.body!).code]).toEqual([key, 400, 'bad_request']);
      expect(JSON.parse(reply.body!).error).toContain('Idempotency-Key');
    }
    expect(api.deps.calls).toEqual([]);
  });

  it('answers a bug with a 500 that shows nothing of it, and logs it whole', async () => {
    const reply = await stockApi(async () => {
      throw new TypeError("cannot read properties of undefined (reading 'held')");
    }).invoke(apiEvent(FIND, { item_id: 'i1' }));
    expect(reply.statusCode).toBe(500);
    expect(reply.body).not.toContain('held');
    expect(logger.error).toHaveBeenCalledWith(
      'internal error',
      expect.objectContaining({ route: FIND, error: expect.stringContaining('held') }),
    );
  });

  it('runs the invocation once more, with the secrets read again, when a database refused its login; once only', async () => {
    const refusedOnce = stockApi(async (_, deps) => {
      deps.calls.push('try');
      if (deps.calls.length === 1) throw Object.assign(new Error('password authentication failed for user "stock"'), { code: '28P01' });
      return { body: { stock: 1, price: 1 } };
    });
    expect((await refusedOnce.invoke(apiEvent(FIND, { item_id: 'i1' }))).statusCode).toBe(200);
    expect(refusedOnce.deps.calls).toEqual(['try', 'try']);

    const refusedAlways = stockApi(async (_, deps) => {
      deps.calls.push('try');
      throw Object.assign(new Error('password authentication failed for user "stock"'), { code: '28P01' });
    });
    expect((await refusedAlways.invoke(apiEvent(FIND, { item_id: 'i1' }))).statusCode).toBe(500);
    expect(refusedAlways.deps.calls).toEqual(['try', 'try']);
  });
});

describe('a Kafka handler', () => {
  const fixture = (name: string): unknown =>
    JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'kafka', name), 'utf8'));

  it.each(['aws-msk-example.json', 'aws-self-managed-kafka-example.json'])(
    'hands over the records of %s decoded, the whole batch at once',
    async (name) => {
      const batches: DecodedRecord[][] = [];
      const handler = kafkaHandler('shop/test', {}, async (records) => {
        batches.push(records);
      });
      await handler(fixture(name), lambdaContext);
      expect(batches).toHaveLength(1);
      expect(batches[0]).toEqual([
        expect.objectContaining({ topic: 'mytopic', partition: 0, value: 'Hello, this is a test.', headers: { headerKey: 'headerValue' } }),
      ]);
    },
  );

  it('fails the batch on an event that is not Kafka, so the event source delivers it again', async () => {
    const handle = jest.fn(async () => undefined);
    await expect(kafkaHandler('shop/test', {}, handle)({ Records: [] }, lambdaContext)).rejects.toThrow(
      'not an MSK or self-managed Kafka event',
    );
    expect(handle).not.toHaveBeenCalled();
  });

  it("fails the batch when the handler fails, with the handler's error", async () => {
    const handler = kafkaHandler('shop/test', {}, async () => {
      throw new Error('shard stock-1 cannot be reached');
    });
    await expect(handler(fixture('aws-msk-example.json'), lambdaContext)).rejects.toThrow('shard stock-1 cannot be reached');
  });
});
