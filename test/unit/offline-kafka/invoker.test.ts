import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvocationError, createHttpInvoker, failureOf } from '../../../infra/offline-kafka/invoker';

/**
 * Replies modelled on serverless-offline 13.9's invocationsRoute/InvocationsController:
 * a thrown handler error is a 200 with `X-Amz-Function-Error: Unhandled`.
 */
type Reply = { status: number; headers?: Record<string, string>; body: string };

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let port: number;
let reply: Reply;
let received: Received[];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  reply = { status: 200, body: 'null' };
});

describe('createHttpInvoker', () => {
  it('posts the event as JSON to the Lambda Invoke path of the full function name', async () => {
    const invoke = createHttpInvoker({ host: '127.0.0.1', port });
    const event = { eventSource: 'SelfManagedKafka', bootstrapServers: 'k:1', records: {} };
    await expect(invoke('shop-local-settle', event)).resolves.toBeUndefined();
    expect(received).toHaveLength(1);
    expect(received[0]!.method).toBe('POST');
    expect(received[0]!.url).toBe('/2015-03-31/functions/shop-local-settle/invocations');
    expect(received[0]!.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(JSON.parse(received[0]!.body)).toEqual(event);
  });

  it('treats a handler error (200 + X-Amz-Function-Error: Unhandled) as a failure', async () => {
    reply = {
      status: 200,
      headers: { 'X-Amz-Function-Error': 'Unhandled' },
      body: JSON.stringify({ errorMessage: 'stock row locked', errorType: 'Error', trace: ['Error: stock row locked', '    at handler'] }),
    };
    const invoke = createHttpInvoker({ host: '127.0.0.1', port });
    const failure = await invoke('f', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvocationError);
    expect((failure as InvocationError).message).toBe('Unhandled function error: Error: stock row locked');
    expect((failure as InvocationError).statusCode).toBe(200);
  });

  it('treats an unknown function (404 + x-amzn-ErrorType) as a failure', async () => {
    reply = {
      status: 404,
      headers: { 'x-amzn-ErrorType': 'ResourceNotFoundException' },
      body: JSON.stringify({ Message: 'Function not found: f', Type: 'User' }),
    };
    await expect(createHttpInvoker({ host: '127.0.0.1', port })('f', {})).rejects.toThrow(
      'ResourceNotFoundException (HTTP 404): User: Function not found: f',
    );
  });

  it('treats any other non-200 reply as a failure', async () => {
    reply = { status: 500, body: JSON.stringify({ statusCode: 500, error: 'Internal Server Error', message: 'An internal server error occurred' }) };
    await expect(createHttpInvoker({ host: '127.0.0.1', port })('f', {})).rejects.toThrow('HTTP 500');
  });

  it('treats an unreachable serverless-offline as a failure', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await createHttpInvoker({ host: '127.0.0.1', port: deadPort })('f', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvocationError);
    expect((failure as InvocationError).message).toContain(`cannot reach serverless-offline at 127.0.0.1:${deadPort}`);
    expect((failure as InvocationError).statusCode).toBeUndefined();
  });

  it('accepts a handler result of any shape', async () => {
    reply = { status: 200, body: '"done"' };
    await expect(createHttpInvoker({ host: '127.0.0.1', port })('f', {})).resolves.toBeUndefined();
  });
});

describe('failureOf', () => {
  it('is undefined only for a plain 200', () => {
    expect(failureOf(200, {}, '')).toBeUndefined();
    expect(failureOf(202, {}, '')).toBe('HTTP 202: ');
  });

  it('shortens a long non-JSON body', () => {
    expect(failureOf(502, {}, 'x'.repeat(2000))!.length).toBeLessThan(600);
  });
});
