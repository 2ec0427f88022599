import { type KafkaConnection, kafkaConnection } from './kafka';
import { intEnv, requiredEnv } from './env';

/** What every function is told by its environment (serverless.yml `provider.environment`). */
export interface ServiceConfig {
  readonly secretPrefix: string;
  readonly shards: { readonly order: number; readonly stock: number; readonly payment: number };
  readonly kafka: KafkaConnection;
}

/** Reads the configuration once, at a handler's edge; a missing or bad variable fails the cold start, naming it. */
export function serviceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return {
    secretPrefix: requiredEnv('SECRET_PREFIX', env),
    shards: {
      order: intEnv('ORDER_SHARDS', 2, 1, 64, env),
      stock: intEnv('STOCK_SHARDS', 2, 1, 64, env),
      payment: intEnv('PAYMENT_SHARDS', 2, 1, 64, env),
    },
    kafka: kafkaConnection(env),
  };
}

/** The name the logs and metrics carry as `service` (`POWERTOOLS_SERVICE_NAME`, which serverless.yml sets). */
export function serviceName(env: NodeJS.ProcessEnv = process.env): string {
  return env.POWERTOOLS_SERVICE_NAME ?? 'shop';
}
