import { CHECKOUT_WAIT_MS } from '../../layers/config/bounds';
import { intEnv, requiredEnv } from '../../layers/config/env';
import { serviceConfig } from '../../layers/config/service';
import { required, slotMapsFor } from '../../layers/db/middleware';
import { apiHandler } from '../../layers/http/api-handler';
import { claimsPerTurn } from '../../layers/coordinator/claims-per-turn';
import { DecisionWaiter } from '../../layers/coordinator/decision-waiter';
import { orderRoutes } from './routes';

const config = serviceConfig();
const stockApiUrl = requiredEnv('STOCK_API_URL');
const timeoutMs = intEnv('CHECKOUT_TIMEOUT_MS', CHECKOUT_WAIT_MS.fallback, CHECKOUT_WAIT_MS.min, CHECKOUT_WAIT_MS.max);
const waiter = new DecisionWaiter();
const claimOrRead = claimsPerTurn({ timeoutMs });
const slotMaps = slotMapsFor(config.secretPrefix, config.shards);

/** The order service's HTTP handler: every /orders route of API.md; checkout coordinates the 2PC. */
export const handler = apiHandler(orderRoutes, config.secretPrefix, { order: config.shards.order }, (databases) => ({
  orders: required(databases, 'order'),
  slotMaps,
  kafka: config.kafka,
  waiter,
  timeoutMs,
  claimOrRead,
  stockApiUrl,
}));
