import fs from 'node:fs';
import path from 'node:path';
import { replicatedMarker } from '../config';

/**
 * Where the integration tests run: a stack of their own, never the one `npm start` runs for a
 * developer (the tests batch_init ids "0" … "n-1", kill its processes, move its shards). Its own
 * run and data folders and its own ports, each npm start's default minus 10000 (8000 → 18000 for
 * the gateway), all below Linux's ephemeral range like the defaults.
 */
const TEST_PORTS: Readonly<Record<string, string>> = {
  SHOP_GATEWAY_PORT: '18000',
  SHOP_POSTGRES_PORT_BASE: '14410',
  SHOP_POSTGRES_MONITOR_PORT: '14400',
  SHOP_KAFKA_PORT: '19092',
  SHOP_KAFKA_CONTROLLER_PORT: '19093',
  SHOP_SECRETS_PORT: '15660',
  SHOP_OFFLINE_HTTP_PORT_BASE: '13100',
  SHOP_OFFLINE_LAMBDA_PORT_BASE: '13200',
};

export const TEST_RUN_DIR = '.run-test';

/**
 * Points `env` at the tests' stack, whatever it said before (a developer's own port or folder
 * settings are for their shop). SHOP_HA still chooses the light or the replicated test stack, and
 * unset follows the test stack that runs, as it follows npm start's.
 */
export function useTestStack(env: NodeJS.ProcessEnv, root: string): NodeJS.ProcessEnv {
  const replicated = env.SHOP_HA === undefined ? fs.existsSync(replicatedMarker(path.resolve(root, TEST_RUN_DIR))) : env.SHOP_HA === '1';
  Object.assign(env, TEST_PORTS, { SHOP_RUN_DIR: TEST_RUN_DIR, SHOP_DATA_DIR: replicated ? '.data-test-ha' : '.data-test' });
  return env;
}
