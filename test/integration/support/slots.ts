import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import type postgres from 'postgres';
import { stackAddresses } from '../../../infra/config';
import { localSecretsClient } from '../../../infra/secrets/local-secrets-manager';
import { readPublishedSlotMap, slotMapSecretName } from '../../../layers/db/published-slot-maps';
import { hashOf } from '../../../layers/sharding/shard';
import { ownerOf, type SlotMap } from '../../../layers/sharding/slots';
import { stackConfig } from './stack';
import type { ShardedService } from '../../../layers/config/services';

/** What a test that talks to one shard directly needs to address rows that shard serves. */
export interface OwnedKeys {
  /** The first id `<prefix>-<n>` whose slot the shard owns now. */
  keyFor(prefix: string): string;
  readonly slotOf: (key: string) => number;
}

/** Reads which slots the shard owns (its `owned_slots`) and its service's slot count (its map copy). */
export async function ownedKeys(sql: postgres.Sql): Promise<OwnedKeys> {
  const [copy] = await sql<{ slot_count: number }[]>`select (map ->> 'slotCount')::int as slot_count from slot_map`;
  if (!copy) throw new Error('the shard keeps no slot map: was the stack started by this release?');
  const owned = new Set((await sql<{ slot: number }[]>`select slot from owned_slots where state = 'owned'`).map((row) => row.slot));
  const slotOf = (key: string) => hashOf(key) % copy.slot_count;
  return {
    slotOf,
    keyFor(prefix) {
      for (let n = 0; ; n++) if (owned.has(slotOf(`${prefix}-${n}`))) return `${prefix}-${n}`;
    },
  };
}

/** The slot map the stack's functions route `service` by now (earlier tests may have moved slots). */
export async function publishedMap(service: ShardedService): Promise<SlotMap> {
  const client = localSecretsClient(stackAddresses(stackConfig).secretsEndpoint);
  try {
    const map = await readPublishedSlotMap(client, `${stackConfig.service}/${stackConfig.stage}`, service);
    if (!map) throw new Error(`no slot map published for ${service}: was the stack started by this release?`);
    return map;
  } finally {
    client.destroy();
  }
}

/** The shard ("payment-1") that owns `id` now. */
export async function shardOwning(service: ShardedService, id: string): Promise<string> {
  return `${service}-${ownerOf(id, await publishedMap(service))}`;
}

/** How many versions of `service`'s published map Secrets Manager holds (it keeps each for a day at least). */
export async function publishedVersions(service: ShardedService): Promise<number> {
  const client = localSecretsClient(stackAddresses(stackConfig).secretsEndpoint);
  try {
    let count = 0;
    let NextToken: string | undefined;
    do {
      const page = await client.send(
        new ListSecretVersionIdsCommand({
          SecretId: slotMapSecretName(`${stackConfig.service}/${stackConfig.stage}`, service),
          IncludeDeprecated: true,
          MaxResults: 100,
          NextToken,
        }),
      );
      count += page.Versions?.length ?? 0;
      NextToken = page.NextToken;
    } while (NextToken);
    return count;
  } finally {
    client.destroy();
  }
}
