/**
 * The one-shot `setup` service of docker-compose.yml: what `npm start` does between starting the
 * servers and starting the functions, done against the other containers. Each step is safe to
 * repeat, so every `docker compose up` runs it again. Run as `npx tsx infra/docker/setup.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { requiredEnv } from '../../layers/config/env';
import { migrate } from '../../layers/db/migrate';
import { databaseSecretName, type DatabaseSecret } from '../../layers/db/secrets';
import { ensureTopics } from '../../layers/kafka/topic-setup';
import { type DatabaseServer, databaseServers, loadStackConfig, type StackConfig, TOPICS } from '../config';
import { MIGRATIONS_ROOT } from '../postgres/migrations';
import { localSecretsClient } from '../secrets/local-secrets-manager';
import { putSecret } from '../secrets/put-secret';
import { waitFor } from '../processes/processes';
import { consoleProgress as progress } from '../processes/progress';
import { composeAddresses } from './addresses';
import { composeGatewayConfig } from './gateway-config';

// The healthchecks say a server is up; these bound the wait for one that is up but not yet answering.
const READY_TIMEOUT_MS = 60_000;

/** Migrates one database and stores its credentials, with the host the functions' containers use. */
async function prepareDatabase(
  config: StackConfig,
  server: DatabaseServer,
  login: { username: string; password: string },
  secrets: SecretsManagerClient,
): Promise<void> {
  // Each database server is the service of its own name, on the port it has in the local stack.
  const secret: DatabaseSecret = { host: server.name, port: server.port, dbname: server.dbname, ...login };
  const sql = postgres({ ...secret, database: secret.dbname, max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    await waitFor(`postgres ${server.name}`, async () => (await sql`select 1`).length === 1, { timeoutMs: READY_TIMEOUT_MS });
    const applied = await migrate(sql, MIGRATIONS_ROOT, server.service);
    if (applied.length > 0) progress.step(`setup: ${server.name} migrated (${applied.join(', ')})`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  await putSecret(secrets, databaseSecretName(`${config.service}/${config.stage}`, server.service, server.shard), secret);
  progress.step(`setup: ${server.name} ready, its secret stored`);
}

async function createTopics(config: StackConfig, brokers: string): Promise<void> {
  const admin = new Kafka({ clientId: 'shop-setup', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 5 } }).admin();
  try {
    await waitFor(
      'kafka',
      async () => {
        await admin.connect();
        return true;
      },
      { timeoutMs: READY_TIMEOUT_MS },
    );
    const created = await ensureTopics(admin, { topics: Object.values(TOPICS), partitions: config.kafkaPartitions, replicationFactor: 1 });
    progress.step(`setup: kafka topics ready${created.length > 0 ? ` (created ${created.join(', ')})` : ''}`);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const config = loadStackConfig();
  const addresses = composeAddresses(config);
  const login = { username: requiredEnv('POSTGRES_USER'), password: requiredEnv('POSTGRES_PASSWORD') };
  const gatewayConfigFile = requiredEnv('SHOP_GATEWAY_CONFIG_FILE');

  fs.mkdirSync(path.dirname(gatewayConfigFile), { recursive: true });
  fs.writeFileSync(gatewayConfigFile, composeGatewayConfig(config));
  progress.step(`setup: gateway configuration written to ${gatewayConfigFile}`);

  const secrets = localSecretsClient(addresses.secretsEndpoint);
  try {
    const steps = [
      ...databaseServers(config).map((server) => prepareDatabase(config, server, login, secrets)),
      createTopics(config, addresses.kafkaBootstrap),
    ];
    // Every step settles before the exit, so a failure is reported after the others have finished.
    const failed = (await Promise.allSettled(steps)).filter((result) => result.status === 'rejected');
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((result) => result.reason),
        `setup: ${failed.length} step(s) failed`,
      );
  } finally {
    secrets.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof AggregateError ? [error.message, ...error.errors.map(String)].join('\n  ') : error);
  process.exitCode = 1;
});
