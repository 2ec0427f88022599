import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { NotFoundError } from '../errors';
import { jsonReply } from './reply';

/** What a route returns: the success body, and its status when that is not 200. */
export type RouteResult =
  | { readonly status?: number; readonly body: unknown }
  /** A reply that is not JSON (a page): the body as it is sent. */
  | { readonly status?: number; readonly body: string; readonly contentType: string };

export type Route<Deps> = (params: Readonly<Record<string, string | undefined>>, deps: Deps) => Promise<RouteResult>;

/** Routes by API Gateway's `routeKey` ("POST /stock/add/{item_id}/{amount}"), as serverless.yml declares them. */
export function router<Deps>(routes: Readonly<Record<string, Route<Deps>>>) {
  return async (event: APIGatewayProxyEventV2, deps: Deps): Promise<APIGatewayProxyStructuredResultV2> => {
    const route = routes[event.routeKey];
    if (!route) throw new NotFoundError(`no route ${event.routeKey}`, { code: 'no_such_route' });
    const result = await route(event.pathParameters ?? {}, deps);
    const status = result.status ?? 200;
    if ('contentType' in result)
      return { statusCode: status, headers: { 'content-type': result.contentType, 'cache-control': 'no-store' }, body: result.body };
    return jsonReply(status, result.body);
  };
}
