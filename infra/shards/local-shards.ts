import { type DatabaseServer, databaseServers, type StackConfig } from '../config';
import type { DatabaseSecret } from '../../layers/db/secrets';
import { readCredentials } from '../postgres/server';
import type { ShardedService } from '../../layers/config/services';

/**
 * Where a shard added to the local stack lives: a database of its own (`stock_2`) on the server of
 * the initial shard its number falls on, where `npm run shards` creates it (`ShardsTool.add`).
 * Fixed by its number, so a restart finds it again with nothing but the slot map remembering it.
 */
export function localShardPlace(config: StackConfig, service: ShardedService, shard: number): { server: DatabaseServer; dbname: string } {
  const servers = databaseServers(config).filter((server) => server.service === service);
  return { server: servers[shard % servers.length]!, dbname: `${service}_${shard}` };
}

export function localShardSecret(config: StackConfig, service: ShardedService, shard: number): DatabaseSecret {
  const { server, dbname } = localShardPlace(config, service, shard);
  return { ...readCredentials(config.dataDir, server), dbname };
}
