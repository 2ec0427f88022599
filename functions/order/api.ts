import { intEnv, requiredEnv } from '../../layers/config/env';
import { serviceConfig } from '../../layers/config/service';
import { apiHandler, required } from '../../layers/http/api-handler';
import { DecisionWaiter } from './decision-waiter';
import { orderRoutes } from './routes';

const config = serviceConfig();
const stockApiUrl = requiredEnv('STOCK_API_URL');
/**
 * A checkout waits at most this long for the decision, and a refused one as long again for its
 * reservations to come back: both within the function's 28 s (API Gateway gives up at 30 s),
 * with room left for the log's own statements. A longer setting is refused at start.
 */
const MAX_CHECKOUT_WAIT_MS = 12_000;
const timeoutMs = intEnv('CHECKOUT_TIMEOUT_MS', 5_000, 100, MAX_CHECKOUT_WAIT_MS);
const waiter = new DecisionWaiter();

/** The order service's HTTP handler: every /orders route of API.md; checkout coordinates the 2PC. */
export const handler = apiHandler(orderRoutes, config.secretPrefix, { order: config.shards.order }, (databases) => ({
  orders: required(databases, 'order'),
  shardCounts: config.shards,
  kafka: config.kafka,
  waiter,
  timeoutMs,
  stockApiUrl,
}));
