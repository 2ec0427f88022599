import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

/** Creates the secret, or replaces its value when an earlier start created it, as an operator would on AWS. */
export async function putSecret(client: SecretsManagerClient, name: string, value: unknown): Promise<void> {
  const SecretString = JSON.stringify(value);
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString }));
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}
