import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { databaseServers, loadStackConfig, stackAddresses } from '../../../infra/config';
import { readCredentials } from '../../../infra/postgres/server';

/** The running local stack, as the integration tests reach it: through its public ports. */
export const stackConfig = loadStackConfig();
export const gatewayUrl = stackAddresses(stackConfig).gatewayUrl;
export const kafkaBrokers = [stackAddresses(stackConfig).kafkaBootstrap];

export interface ApiReply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly contentType: string | null;
}

/** One request to the gateway, as any client of the API would make it. */
export async function api<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string): Promise<ApiReply<T>> {
  const response = await fetch(`${gatewayUrl}${path}`, { method });
  const text = await response.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    throw new Error(`${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, body, contentType: response.headers.get('content-type') };
}

/** A direct connection to one database of the stack, to check what the API says against it. */
export function connectTo(name: string): postgres.Sql {
  const server = databaseServers(stackConfig).find((candidate) => candidate.name === name);
  if (!server) throw new Error(`no database ${name} in this stack`);
  const { host, port, username, password, dbname } = readCredentials(stackConfig.dataDir, server);
  return postgres({ host, port, username, password, database: dbname, max: 2, onnotice: () => undefined });
}

export function kafkaClient(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
}
