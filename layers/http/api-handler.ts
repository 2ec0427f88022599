import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type DatabaseContext, databases, withLoginRetry } from '../db/middleware';
import type { DatabaseName } from '../db/secrets';
import type { ShardSet } from '../db/shards';
import { httpErrorHandler } from './error-handler';
import { type Route, router } from './router';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../logging/logger';

type Databases = Readonly<Partial<Record<DatabaseName, ShardSet>>>;

/**
 * One service's HTTP API as a Lambda handler: errors mapped to replies, the shards' credentials
 * from Secrets Manager, then the route for the request's `routeKey`.
 */
export function apiHandler<Deps>(
  routes: Readonly<Record<string, Route<Deps>>>,
  secretPrefix: string,
  shardCounts: Readonly<Partial<Record<DatabaseName, number>>>,
  depsOf: (databases: Databases) => Deps,
  /** Checks before any database is touched (the live view's token). */
  access: middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>[] = [],
) {
  const route = router(routes);
  return withLoginRetry(
    middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, DatabaseContext>()
      .use(httpErrorHandler())
      // Every log line of the invocation carries its Lambda context (function, request id, cold start).
      .use(injectLambdaContext(logger))
      .use(access)
      .use(databases(secretPrefix, shardCounts))
      .handler((event, context) => route(event, depsOf(context.databases))),
  );
}
