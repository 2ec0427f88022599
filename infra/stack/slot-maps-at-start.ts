import type { ShardedService } from '../../layers/config/services';
import { migrate } from '../../layers/db/migrate';
import { databaseSecretName } from '../../layers/db/secrets';
import { ensureSlotMap, SLOTTED_SERVICES } from '../../layers/resharding/slot-adoption';
import { databaseServers, type StackConfig } from '../config';
import { MIGRATIONS_ROOT } from '../postgres/migrations';
import { connectAdmin } from '../postgres/server';
import type { Progress } from '../processes/progress';
import { putSecret } from '../secrets/put-secret';
import { localSecretsClient } from '../secrets/local-secrets-manager';
import { localShardSecret } from '../shards/local-shards';
import { connectWith } from '../shards/shard-databases';

/**
 * Each slotted service's slot map adopted (first start) or published again from the shards'
 * copies: the local Secrets Manager (moto) forgets everything when it stops, and the functions
 * route by the maps it holds.
 */
export async function ensureSlotMaps(config: StackConfig, secretsEndpoint: string, progress: Progress): Promise<void> {
  const client = localSecretsClient(secretsEndpoint);
  try {
    for (const service of Object.keys(SLOTTED_SERVICES) as ShardedService[]) {
      const servers = databaseServers(config).filter((server) => server.service === service);
      const pools = new Map(servers.map((server) => [server.shard, connectAdmin(config.dataDir, server)]));
      try {
        const prefix = `${config.service}/${config.stage}`;
        const map = await ensureSlotMap(service, { shards: pools, shardCount: config.shards[service], secrets: client, prefix });
        // Shards `npm run shards` added are databases of their own, whose secrets moto forgot,
        // and whose schema this release may take further.
        for (const shard of map.shards.filter((shard) => !pools.has(shard))) {
          const secret = localShardSecret(config, service, shard);
          await putSecret(client, databaseSecretName(prefix, service, shard), secret);
          const sql = connectWith(secret);
          try {
            const applied = await migrate(sql, MIGRATIONS_ROOT, service);
            if (applied.length > 0) progress.step(`postgres: ${service}-${shard} migrated (${applied.join(', ')})`);
          } finally {
            await sql.end({ timeout: 1 });
          }
        }
        progress.step(`slots: ${service} map v${map.version} (${map.slotCount} slots on shards ${map.shards.join(', ')})`);
      } finally {
        await Promise.all([...pools.values()].map((sql) => sql.end({ timeout: 1 })));
      }
    }
  } finally {
    client.destroy();
  }
}
