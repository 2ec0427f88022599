import type middy from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { clearCache, getInternal } from '@middy/util';
import type { Context } from 'aws-lambda';
import { type DatabaseName, databaseSecretName, isDatabaseSecret } from './secrets';
import { type ShardSet, shardSet } from './shards';

/** The Lambda context once the databases are attached. */
export type DatabaseContext = Context & { databases: Readonly<Partial<Record<DatabaseName, ShardSet>>> };

/** PostgreSQL's answers to a login it refuses: the password (or user) the secret gave is no longer valid. */
const AUTHENTICATION_FAILURES = new Set(['28P01', '28000']);

/**
 * Fetches the credentials of every shard from Secrets Manager (the same path on AWS and
 * locally) and attaches one pool per shard to `context.databases`. They are kept until a
 * database refuses a login: a rotated password fails that invocation (its caller or the event
 * source tries again), and the next one reads the secrets afresh and opens pools with them.
 * Connections already open stay open, so a rotation costs at most the invocations that had to
 * open a connection before the secrets were read again.
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

  const cacheKey = `databases:${secretPrefix}`;
  const rereadAfterRefusedLogin = async (request: middy.Request): Promise<void> => {
    if (AUTHENTICATION_FAILURES.has((request.error as { code?: string } | null)?.code ?? '')) clearCache([cacheKey]);
  };
  return [secretsManager({ fetchData, cacheKey, cacheExpiry: -1 }), { before: attachDatabasesBefore, onError: rereadAfterRefusedLogin }];
}
