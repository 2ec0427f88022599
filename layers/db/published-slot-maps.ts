import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseSlotMap, type SlotMap } from '../sharding/slots';
import type { ShardedService } from '../config/services';

/**
 * Where a service's slot map is published: beside its shards' credentials in Secrets Manager,
 * the one store every function already reads, on AWS and locally, and the only one the
 * coordinator can read the participants' maps from without reaching into their databases.
 */
export function slotMapSecretName(prefix: string, service: ShardedService): string {
  return `${prefix}/slots/${service}`;
}

/** The published map, or undefined while none is (a stack from before slots, not yet adopted). */
export async function readPublishedSlotMap(
  client: SecretsManagerClient,
  prefix: string,
  service: ShardedService,
): Promise<SlotMap | undefined> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: slotMapSecretName(prefix, service) }));
    return parseSlotMap(JSON.parse(SecretString ?? 'null'));
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** Publishes `map` unless a newer one is: versions only go up, whoever writes last. */
export async function publishSlotMap(client: SecretsManagerClient, prefix: string, service: ShardedService, map: SlotMap): Promise<void> {
  const current = await readPublishedSlotMap(client, prefix, service);
  if (current && current.version >= map.version) return;
  const name = slotMapSecretName(prefix, service);
  const SecretString = JSON.stringify(map);
  try {
    await client.send(new CreateSecretCommand({ Name: name, SecretString }));
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    await client.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  }
}
