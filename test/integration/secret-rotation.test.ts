import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { stackAddresses } from '../../infra/config';
import { databaseSecretName } from '../../layers/db/secrets';
import { localSecretsClient } from '../../infra/secrets/local-secrets-manager';
import { putSecret } from '../../infra/secrets/put-secret';
import { itemWith, orderOf, shop, userWith } from './support/shop';
import { connectTo, stackConfig } from './support/stack';

/**
 * A database password rotated while the shop serves, as Secrets Manager's rotation does it: the
 * role's password changes, then the secret. Connections already open keep working; every new
 * login with the old password is refused. The functions must read the secret again and go on,
 * for HTTP requests and for the Kafka-triggered participants alike, without failing a request. The password is rotated
 * back at the end, the same way, so the stack is left as it was.
 */
const SHARD = 'stock-0';
const secrets = localSecretsClient(stackAddresses(stackConfig).secretsEndpoint);
const secretName = databaseSecretName(`${stackConfig.service}/${stackConfig.stage}`, 'stock', 0);

// Logged in once with the password of the credentials file, and kept open through both rotations.
const admin = connectTo(SHARD);
afterAll(() => admin.end({ timeout: 5 }));

const secretValue = async () =>
  JSON.parse((await secrets.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString!) as { password: string };

async function rotateTo(password: string): Promise<void> {
  await admin.unsafe(`alter role ${admin.options.user} password '${password}'`);
  await putSecret(secrets, secretName, { ...(await secretValue()), password });
  // Every other connection to this shard ends, so the shop's next statement needs a new login.
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
}

it('goes on after a database password is rotated: HTTP reads and checkouts reach the shard with the new one', async () => {
  const itemId = await itemWith(1, 100, Number(SHARD.split('-')[1]));
  const original = (await secretValue()).password;
  await admin`select 1`;

  const serves = async () => {
    const userId = await userWith(10);
    const orderId = await orderOf(userId, [[itemId, 1]]);
    const reply = await shop.checkout(orderId);
    return reply.status === 200 && (await shop.order(orderId)).paid ? true : undefined;
  };

  try {
    await rotateTo(randomBytes(18).toString('base64url'));
    // Every instance meets the refused login on its own; none may answer anything but 200.
    for (let round = 0; round < 4; round++) expect(await serves()).toBe(true);
  } finally {
    await rotateTo(original);
  }
  for (let round = 0; round < 4; round++) expect(await serves()).toBe(true);
});
