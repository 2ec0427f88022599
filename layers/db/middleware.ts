import type middy from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { clearCache, getInternal } from '@middy/util';
import type { Context } from 'aws-lambda';
import { isRefusedLogin } from './refused-login';
import { type DatabaseName, databaseSecretName, isDatabaseSecret } from './secrets';
import { type ShardSet, shardSet } from './shards';

/** The Lambda context once the databases are attached. */
export type DatabaseContext = Context & { databases: Readonly<Partial<Record<DatabaseName, ShardSet>>> };

/**
 * Fetches the credentials of every shard from Secrets Manager (the same path on AWS and
 * locally) and attaches one pool per shard to `context.databases`. They are kept until a
 * database refuses a login (a rotated password): then they are dropped, and `withLoginRetry`
 * runs the invocation once more, which reads them afresh. Connections already open stay open.
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
    if (!isRefusedLogin(request.error)) return;
    clearCache([cacheKey]);
    (request.context as LoginAware)[REFUSED_LOGIN] = true;
  };
  return [secretsManager({ fetchData, cacheKey, cacheExpiry: -1 }), { before: attachDatabasesBefore, onError: rereadAfterRefusedLogin }];
}

const REFUSED_LOGIN = Symbol('a database refused a login during this invocation');
type LoginAware = { [REFUSED_LOGIN]?: boolean };

/**
 * Runs a handler built with `databases` once more when a database refused a login during the
 * invocation, now with the secrets read again. Safe because a refused login runs nothing on that
 * connection, and every operation that writes on several shards (checkout, batch_init, the
 * participants' batches) is idempotent. One retry only: a password still refused is reported.
 */
export function withLoginRetry<Event, Result, Ctx extends object>(
  handler: (event: Event, context: Ctx) => Promise<Result>,
): (event: Event, context: Ctx) => Promise<Result> {
  return async (event, context) => {
    const aware = context as Ctx & LoginAware;
    aware[REFUSED_LOGIN] = false;
    try {
      const result = await handler(event, context);
      if (!aware[REFUSED_LOGIN]) return result;
    } catch (error) {
      if (!aware[REFUSED_LOGIN]) throw error;
    }
    aware[REFUSED_LOGIN] = false;
    return handler(event, context);
  };
}

/** The shard set the `databases` middleware attached; its absence is a wiring mistake, reported as such. */
export function required(databases: DatabaseContext['databases'], name: DatabaseName): ShardSet {
  const shards = databases[name];
  if (!shards) throw new Error(`no ${name} databases attached to this handler`);
  return shards;
}
