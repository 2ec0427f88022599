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
 * instance that is not there: they are shaped like the functions' (`{error, code}`), and its 503
 * says when to try again, as every 503 of the API does.
 */
let nginx: ChildProcess;
let gatewayUrl: string;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const [gatewayPort, deadInstancePort] = [await freePort(), await freePort()];
  const config = loadStackConfig({
    ...process.env,
    SHOP_GATEWAY_PORT: String(gatewayPort),
    SHOP_OFFLINE_HTTP_PORT_BASE: String(deadInstancePort),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-replies-'));
  const configFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    configFile,
    renderGatewayConfig(config, { runDir: dir, logDir: dir, listenAddress: '127.0.0.1', hostOf: () => '127.0.0.1', slots: 1 }),
  );
  const binary = execFileSync('bash', ['-c', 'command -v nginx || echo /usr/sbin/nginx'], { encoding: 'utf8' }).trim();
  nginx = spawn(binary, ['-e', 'stderr', '-p', dir, '-c', configFile], { stdio: 'ignore' });
  await waitFor('nginx', () => portIsOpen(gatewayPort), { pid: nginx.pid });
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
}, 30_000);

afterAll(() => {
  nginx?.kill('SIGQUIT');
});

it('answers 503 with Retry-After and code unavailable when no function instance answers', async () => {
  const reply = await fetch(`${gatewayUrl}/orders/find/some-order`);
  expect(reply.status).toBe(503);
  expect(reply.headers.get('retry-after')).toBe('1');
  expect(reply.headers.get('content-type')).toBe('application/json');
  expect(await reply.json()).toEqual({ error: 'no function instance answered', code: 'unavailable' });
});

it('answers 404 with code no_such_route for a path outside the API', async () => {
  const reply = await fetch(`${gatewayUrl}/basket/1`);
  expect(reply.status).toBe(404);
  expect(await reply.json()).toEqual({
    error: 'no such path; the API is under /orders/, /stock/ and /payment/, the live view at /ops/',
    code: 'no_such_route',
  });
});
