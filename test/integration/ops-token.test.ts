import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { build } from 'esbuild';
import { stackAddresses } from '../../infra/config';
import { LOCAL_AWS_ENV, localSecretsClient } from '../../infra/secrets/local-secrets-manager';
import { putSecret } from '../../infra/secrets/put-secret';
import { TOKEN_COOKIE } from '../../layers/http/token-in-request';
import { stackConfig } from './support/stack';

/**
 * The live view's token check as it runs on AWS: bundled by esbuild like a function, reading the
 * token with the real AWS SDK from the stack's Secrets Manager, and following a rotation.
 */
type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
const secretName = `${stackConfig.service}/${stackConfig.stage}/ops-token-test-${randomBytes(4).toString('hex')}`;
const secrets = localSecretsClient(stackAddresses(stackConfig).secretsEndpoint);
let handler: Handler;

const savedEnv = { ...process.env };
afterAll(() => {
  process.env = savedEnv;
});

beforeAll(async () => {
  // What the stack gives its functions: the SDK's region, credentials and Secrets Manager endpoint.
  Object.assign(process.env, LOCAL_AWS_ENV, { AWS_ENDPOINT_URL_SECRETS_MANAGER: stackAddresses(stackConfig).secretsEndpoint });
  await putSecret(secrets, secretName, 'first-token');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'token-gate-')), 'gate.js');
  await build({
    entryPoints: [path.join(__dirname, 'support/token-gate.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: out,
    logLevel: 'error',
  });
  handler = (require(out) as { gated: (name: string) => Handler }).gated(secretName);
});

const call = (parts: { headers?: Record<string, string>; query?: Record<string, string> }) =>
  handler(
    {
      routeKey: 'GET /ops/summary',
      rawPath: '/ops/summary',
      headers: parts.headers ?? {},
      ...(parts.query ? { queryStringParameters: parts.query } : {}),
      requestContext: { http: { method: 'GET' } },
    } as unknown as APIGatewayProxyEventV2,
    {} as Context,
  );

it('refuses without the token and says how to get in', async () => {
  const reply = await call({});
  expect(reply.statusCode).toBe(401);
  expect(JSON.parse(String(reply.body)).error).toContain('/ops/?token=<token>');
});

it('lets a script in with the bearer token, and a browser with the cookie it gets for ?token=', async () => {
  expect((await call({ headers: { authorization: 'Bearer first-token' } })).statusCode).toBe(200);
  const opened = await call({ query: { token: 'first-token' } });
  expect(opened.statusCode).toBe(303);
  const cookie = opened.cookies![0]!.split(';')[0]!;
  expect(cookie).toBe(`${TOKEN_COOKIE}=first-token`);
  expect((await call({ headers: { cookie } })).statusCode).toBe(200);
});

it('follows a rotated token: the old one is refused, the new one let in', async () => {
  await putSecret(secrets, secretName, 'second-token');
  expect((await call({ headers: { authorization: 'Bearer second-token' } })).statusCode).toBe(200);
  expect((await call({ headers: { authorization: 'Bearer first-token' } })).statusCode).toBe(401);
});
