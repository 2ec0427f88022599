import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { WriteKey, Written } from '../db/idempotency';
import { NotFoundError } from '../errors';
import { writeKeyOf } from './idempotency-key';
import { jsonReply } from './reply';

/** What a route returns: the success body, and its status when that is not 200. */
export type RouteResult =
  /** `replayed`: the reply a retry with the same Idempotency-Key gets, written the first time. */
  | { readonly status?: number; readonly body: unknown; readonly replayed?: boolean }
  /** A reply that is not JSON (a page): the body as it is sent. */
  | { readonly status?: number; readonly body: string; readonly contentType: string };

/** What a route is told of its request beside the path: the write's Idempotency-Key, if the client sent one. */
export interface RouteRequest {
  readonly writeKey?: WriteKey;
}

export type Route<Deps> = (params: Readonly<Record<string, string | undefined>>, deps: Deps, request: RouteRequest) => Promise<RouteResult>;

/** The reply of a write that may be a replay: its body, marked `Idempotent-Replayed` when it is. */
export function writtenReply<T>(written: Written<T>, body: (value: T) => unknown): RouteResult {
  return { body: body(written.value), replayed: written.replayed };
}

/** Routes by API Gateway's `routeKey` ("POST /stock/add/{item_id}/{amount}"), as serverless.yml declares them. */
export function router<Deps>(routes: Readonly<Record<string, Route<Deps>>>) {
  return async (event: APIGatewayProxyEventV2, deps: Deps): Promise<APIGatewayProxyStructuredResultV2> => {
    const route = routes[event.routeKey];
    if (!route) throw new NotFoundError(`no route ${event.routeKey}`, { code: 'no_such_route' });
    const writeKey = event.routeKey.startsWith('GET ') ? undefined : writeKeyOf(event);
    const result = await route(event.pathParameters ?? {}, deps, writeKey ? { writeKey } : {});
    const status = result.status ?? 200;
    if ('contentType' in result)
      return { statusCode: status, headers: { 'content-type': result.contentType, 'cache-control': 'no-store' }, body: result.body };
    const reply = jsonReply(status, result.body);
    return result.replayed ? { ...reply, headers: { ...reply.headers, 'idempotent-replayed': 'true' } } : reply;
  };
}
