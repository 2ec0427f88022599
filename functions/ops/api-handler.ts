import type { Admin } from 'kafkajs';
import { requiredEnv } from '../../layers/config/env';
import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { apiHandler } from '../../layers/http/api-handler';
import { tokenGate } from '../../layers/http/token-gate';
import { kafkaClient } from '../../layers/kafka/connection';
import { opsRoutes } from './routes';

const config = serviceConfig();
// Set by the local stack for its instances; unset on AWS.
const pidDir = process.env.SHOP_RUN_PIDS_DIR;
const groupPrefix = requiredEnv('CONSUMER_GROUP_PREFIX');
// On AWS the view is not public: the secret holding its token (unset locally).
const tokenSecret = process.env.OPS_TOKEN_SECRET || undefined;
const kafka = kafkaClient(config.kafka, 'ops');
let admin: Promise<Admin> | undefined;

/** One admin connection per container, made at its first use and made again if it failed. */
const connectedAdmin = (): Promise<Admin> =>
  (admin ??= (async () => {
    const client = kafka.admin();
    await client.connect();
    return client;
  })().catch((error: unknown) => {
    admin = undefined;
    throw error;
  }));

/** The live view's handler: the page, GET /ops/summary and a transaction's detail. */
export const handler = apiHandler(
  opsRoutes,
  config.secretPrefix,
  { order: config.shards.order, stock: config.shards.stock, payment: config.shards.payment },
  (databases) => ({
    orders: required(databases, 'order'),
    stock: required(databases, 'stock'),
    payment: required(databases, 'payment'),
    kafka: { client: kafka, admin: connectedAdmin, groupPrefix },
    pidDir,
  }),
  tokenGate(tokenSecret),
);
