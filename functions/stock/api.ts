import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { intEnv, requiredEnv } from '../../layers/config/env';
import { type DatabaseContext, databases } from '../../layers/db/middleware';
import { httpErrorHandler } from '../../layers/http/error-handler';
import { router } from '../../layers/http/router';
import { stockRoutes } from './routes';

const secretPrefix = requiredEnv('SECRET_PREFIX');
const stockShards = intEnv('STOCK_SHARDS', 2);
const route = router(stockRoutes);

/** The stock service's HTTP handler: every /stock route of API.md. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, DatabaseContext>()
  .use(httpErrorHandler())
  .use(databases(secretPrefix, { stock: stockShards }))
  .handler((event, context) => route(event, { stock: context.databases.stock! }));
