/**
 * Finds serverless-offline's Lambda HTTP server (the one serving the Invoke API) the way
 * serverless-offline itself configures it, and tells when it accepts connections: under plain
 * `serverless offline` that is the only sign that the functions are set up.
 */
import net from 'node:net';
import { setTimeout as sleepFor } from 'node:timers/promises';

/** Where serverless-offline's Lambda HTTP server listens. */
export interface LambdaEndpoint {
  readonly host: string;
  readonly port: number;
}

/** serverless-offline's defaults (src/config/defaultOptions.js). */
export const SERVERLESS_OFFLINE_DEFAULTS = { host: 'localhost', lambdaPort: 3002 } as const;

// Addresses a server binds to but a client cannot connect to.
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Same precedence as serverless-offline's `#mergeOptions`: CLI options, then
 * `custom.serverless-offline`, then its defaults.
 */
export function resolveLambdaEndpoint(cliOptions: Record<string, unknown>, custom: unknown): LambdaEndpoint {
  const offline = isRecord(custom) && isRecord(custom['serverless-offline']) ? custom['serverless-offline'] : {};
  const pick = (name: 'host' | 'lambdaPort') => cliOptions[name] ?? offline[name];

  const port = Number(pick('lambdaPort') ?? SERVERLESS_OFFLINE_DEFAULTS.lambdaPort);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`offline-kafka: lambdaPort ${String(pick('lambdaPort'))} is not a port number`);
  }
  const rawHost = pick('host');
  const host = typeof rawHost === 'string' && rawHost !== '' && !WILDCARD_HOSTS.has(rawHost) ? rawHost : SERVERLESS_OFFLINE_DEFAULTS.host;
  return { host, port };
}

function accepts(endpoint: LambdaEndpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Resolves true once the endpoint accepts TCP connections, false if aborted first. */
export async function waitUntilListening(endpoint: LambdaEndpoint, signal: AbortSignal, intervalMs = 250): Promise<boolean> {
  while (!signal.aborted) {
    if (await accepts(endpoint)) return true;
    try {
      await sleepFor(intervalMs, undefined, { signal });
    } catch {
      return false;
    }
  }
  return false;
}
