import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadStackConfig } from '../../infra/config';
import { renderGatewayConfig } from '../../infra/gateway/nginx';
import { portIsOpen, waitFor } from '../../infra/processes/processes';

/**
 * The gateway's own replies, from a real NGINX with the project's configuration in front of an
 * instance that is not there, and of one that takes a request and dies without answering: they
 * are shaped like the functions' (`{error, code}`); a 503 says when to try again and is given only
 * where no instance received the request; a write an instance received and never answered says
 * its outcome is unknown.
 */
const gateways: ChildProcess[] = [];
let hangUp: net.Server;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real NGINX with the project's configuration, in front of one instance slot on `instancePort`. */
async function gatewayBefore(instancePort: number): Promise<string> {
  const gatewayPort = await freePort();
  const config = loadStackConfig({
    ...process.env,
    SHOP_GATEWAY_PORT: String(gatewayPort),
    SHOP_OFFLINE_HTTP_PORT_BASE: String(instancePort),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-replies-'));
  const configFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    configFile,
    renderGatewayConfig(config, { runDir: dir, logDir: dir, listenAddress: '127.0.0.1', hostOf: () => '127.0.0.1', slots: 1 }),
  );
  const binary = execFileSync('bash', ['-c', 'command -v nginx || echo /usr/sbin/nginx'], { encoding: 'utf8' }).trim();
  const nginx = spawn(binary, ['-e', 'stderr', '-p', dir, '-c', configFile], { stdio: 'ignore' });
  gateways.push(nginx);
  await waitFor('nginx', () => portIsOpen(gatewayPort), { pid: nginx.pid });
  return `http://127.0.0.1:${gatewayPort}`;
}

let beforeNoInstance: string;
let beforeDyingInstance: string;

beforeAll(async () => {
  beforeNoInstance = await gatewayBefore(await freePort());
  // An instance that dies with the request in hand: it reads it, then drops the connection unanswered.
  hangUp = net.createServer((socket) => socket.once('data', () => socket.destroy()));
  await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
  beforeDyingInstance = await gatewayBefore((hangUp.address() as net.AddressInfo).port);
}, 30_000);

afterAll(async () => {
  for (const nginx of gateways) nginx.kill('SIGQUIT');
  await new Promise((resolve) => hangUp?.close(resolve));
});

const unavailable = { error: 'no function instance answered', code: 'unavailable' };

it('answers 503 with Retry-After and code unavailable when no function instance answers', async () => {
  const reply = await fetch(`${beforeNoInstance}/orders/find/some-order`);
  expect(reply.status).toBe(503);
  expect(reply.headers.get('retry-after')).toBe('1');
  expect(reply.headers.get('content-type')).toBe('application/json');
  expect(await reply.json()).toEqual(unavailable);
});

it('answers a write no instance received with 503 unavailable: nothing was sent, so nothing changed', async () => {
  const reply = await fetch(`${beforeNoInstance}/payment/add_funds/some-user/100`, { method: 'POST' });
  expect(reply.status).toBe(503);
  expect(reply.headers.get('retry-after')).toBe('1');
  expect(await reply.json()).toEqual(unavailable);
});

it('answers a write an instance received and never answered with 502 outcome_unknown, promising nothing', async () => {
  for (const path of ['/payment/add_funds/some-user/100', '/orders/checkout/some-order', '/stock/item/create/5']) {
    const reply = await fetch(`${beforeDyingInstance}${path}`, { method: 'POST' });
    expect({ path, status: reply.status, retryAfter: reply.headers.get('retry-after') }).toEqual({ path, status: 502, retryAfter: null });
    expect(await reply.json()).toMatchObject({ code: 'outcome_unknown' });
  }
});

it('answers a read an instance received and never answered with 503: a read changes nothing', async () => {
  const reply = await fetch(`${beforeDyingInstance}/stock/find/some-item`);
  expect(reply.status).toBe(503);
  expect(await reply.json()).toEqual(unavailable);
});

it('answers a health check with 503 when no instance answers it, so a load balancer takes the gateway out', async () => {
  const reply = await fetch(`${beforeNoInstance}/health`);
  expect(reply.status).toBe(503);
  expect(await reply.json()).toEqual(unavailable);
});

it('answers 404 with code no_such_route for a path outside the API', async () => {
  const reply = await fetch(`${beforeNoInstance}/basket/1`);
  expect(reply.status).toBe(404);
  expect(await reply.json()).toEqual({
    error: 'no such path; the API is under /orders/, /stock/ and /payment/, the live view at /ops/, a health check at /health',
    code: 'no_such_route',
  });
});
