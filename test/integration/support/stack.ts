import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { databaseServers, loadStackConfig, stackAddresses } from '../../../infra/config';
import { readCredentials } from '../../../infra/postgres/server';
import { localShardSecret } from '../../../infra/shards/local-shards';
import { loginOf } from '../../../layers/db/login';
import type { ShardedService } from '../../../layers/config/services';

/** The running local stack, as the integration tests reach it: through its public ports. */
export const stackConfig = loadStackConfig();
export const gatewayUrl = stackAddresses(stackConfig).gatewayUrl;
export const kafkaBrokers = stackAddresses(stackConfig).kafkaBootstrap.split(',');

/** A direct connection to one database of the stack, to check what the API says against it. */
export function connectTo(name: string, options: { max?: number; max_pipeline?: number } = {}): postgres.Sql {
  const server = databaseServers(stackConfig).find((candidate) => candidate.name === name);
  const added = /^(order|stock|payment)-(\d+)$/.exec(name);
  if (!server && !added) throw new Error(`no database ${name} in this stack`);
  // A shard added by `npm run shards` is a database of its own on one of its service's servers.
  const login = server
    ? readCredentials(stackConfig.dataDir, server)
    : localShardSecret(stackConfig, added![1] as ShardedService, Number(added![2]));
  return postgres({ ...loginOf(login, login.dbname), max: 2, onnotice: () => undefined, ...options });
}

export function kafkaClient(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
}
