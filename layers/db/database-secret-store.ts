import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type DatabaseSecret, isDatabaseSecret } from './secrets';

/** A shard's credentials from Secrets Manager (AWS's or the local one), checked before they are trusted. */
export async function readDatabaseSecret(client: SecretsManagerClient, name: string): Promise<DatabaseSecret> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: name }));
  const value: unknown = JSON.parse(SecretString ?? 'null');
  if (!isDatabaseSecret(value)) throw new Error(`secret ${name} is not a database secret`);
  return value;
}
