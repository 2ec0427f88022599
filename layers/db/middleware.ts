import type middy from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { getInternal } from '@middy/util';
import type { Context } from 'aws-lambda';
import { type DatabaseName, databaseSecretName, isDatabaseSecret } from './secrets';
import { type ShardSet, shardSet } from './shards';

/** The Lambda context once the databases are attached. */
export type DatabaseContext = Context & { databases: Readonly<Partial<Record<DatabaseName, ShardSet>>> };

/**
 * Fetches the credentials of every shard from Secrets Manager (cached for the container's life,
 * the same path on AWS and locally) and attaches one pool per shard to `context.databases`.
 */
export function databases(
  secretPrefix: string,
  shardCounts: Readonly<Partial<Record<DatabaseName, number>>>,
): middy.MiddlewareObj[] {
  const fetchData: Record<string, string> = {};
  const keysOf = {} as Record<DatabaseName, string[]>;
  for (const [database, count] of Object.entries(shardCounts) as [DatabaseName, number][]) {
    keysOf[database] = Array.from({ length: count }, (_, shard) => {
      const key = `${database}_${shard}`;
      fetchData[key] = databaseSecretName(secretPrefix, database, shard);
      return key;
    });
  }

  const attachDatabasesBefore = async (request: middy.Request): Promise<void> => {
    const secrets: Record<string, unknown> = await getInternal(Object.keys(fetchData), request);
    const attached: Partial<Record<DatabaseName, ShardSet>> = {};
    for (const [database, keys] of Object.entries(keysOf) as [DatabaseName, string[]][]) {
      attached[database] = shardSet(
        keys.map((key) => {
          const secret: unknown = secrets[key];
          if (!isDatabaseSecret(secret)) throw new Error(`secret ${fetchData[key]} is not a database secret`);
          return secret;
        }),
      );
    }
    (request.context as DatabaseContext).databases = attached;
  };

  return [secretsManager({ fetchData, cacheExpiry: -1 }), { before: attachDatabasesBefore }];
}
