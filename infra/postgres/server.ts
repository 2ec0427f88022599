import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { DatabaseServer } from '../config';
import { loginOf } from '../../layers/db/login';
import { type ProcessRegistry, run, waitFor } from '../processes/processes';
import { postgresProcessName } from './process-names';

/** What a client needs to reach one database; the same JSON is stored in Secrets Manager. */
export interface DatabaseCredentials {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname: string;
}

export const SUPERUSER = 'shop';

export function credentialsFileOf(rootDataDir: string, server: DatabaseServer): string {
  return path.join(rootDataDir, 'postgres', `${server.name}.credentials.json`);
}

/** The credentials start generated for a server (for tests and tools that talk to a shard directly). */
export function readCredentials(rootDataDir: string, server: DatabaseServer): DatabaseCredentials {
  const { password } = JSON.parse(fs.readFileSync(credentialsFileOf(rootDataDir, server), 'utf8')) as { password: string };
  // A replicated server lists its nodes, primary and standby in either order: clients keep the primary (`loginOf`).
  const host = server.nodePorts.length === 1 ? '127.0.0.1' : server.nodePorts.map((port) => `127.0.0.1:${port}`).join(',');
  return { host, port: server.port, username: SUPERUSER, password, dbname: server.dbname };
}

/** A short-lived admin connection to a server's primary (migrations, checks); the functions have their own pools. */
export function connectAdmin(rootDataDir: string, server: DatabaseServer, database = server.dbname): postgres.Sql {
  return postgres({ ...loginOf(readCredentials(rootDataDir, server), database), max: 1, onnotice: () => undefined, connect_timeout: 5 });
}

/**
 * PostgreSQL refuses to run as root, so as root every server runs as the system's `postgres`
 * user; setpriv execs in place, so the recorded pid is the postmaster's own.
 */
export function asServerUser(command: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, [...args]];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

/** The postgres user must be able to walk down to the data folder; as root, grant only that. */
export function letServerUserReach(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let current = path.dirname(dir); current !== path.dirname(current); current = path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(current, mode | 0o001);
  }
}

/** What every server of the stack runs with, a light one or a replicated node. */
export const SERVER_SETTINGS: Readonly<Record<string, string>> = {
  max_connections: '300',
  shared_buffers: '128MB',
  // batch_init prepares each shard's part (PREPARE TRANSACTION) before any commits.
  max_prepared_transactions: '64',
  logging_collector: 'off',
};

/**
 * A new cluster in `dataDir` (a half-made one from an interrupted run is redone) whose superuser
 * logs in over TCP with `password` only; `local` says how a login on the Unix socket is checked.
 */
export async function initdb(binDir: string, dataDir: string, password: string, local: 'peer' | 'trust'): Promise<void> {
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  letServerUserReach(dataDir);
  const passwordFile = `${dataDir}.initial-password`;
  fs.writeFileSync(passwordFile, password, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    await run('chown', ['postgres:postgres', dataDir, passwordFile]);
  }
  const [command, args] = asServerUser(path.join(binDir, 'initdb'), [
    `--pgdata=${dataDir}`,
    `--username=${SUPERUSER}`,
    `--pwfile=${passwordFile}`,
    '--auth-host=scram-sha-256',
    `--auth-local=${local}`,
    '--encoding=UTF8',
    '--locale=C',
  ]);
  try {
    await run(command, args);
  } finally {
    fs.rmSync(passwordFile, { force: true });
  }
}

/** Runs one PostgreSQL server of the stack: created once, kept across restarts in its folder. */
export class PostgresServer {
  readonly dataDir: string;
  private readonly credentialsFile: string;

  constructor(
    readonly server: DatabaseServer,
    private readonly binDir: string,
    private readonly rootDataDir: string,
    private readonly processes: ProcessRegistry,
  ) {
    this.dataDir = path.join(rootDataDir, 'postgres', server.name);
    this.credentialsFile = credentialsFileOf(rootDataDir, server);
  }

  get processName(): string {
    return postgresProcessName(this.server.name);
  }

  get isInitialised(): boolean {
    return fs.existsSync(path.join(this.dataDir, 'PG_VERSION'));
  }

  credentials(): DatabaseCredentials {
    return readCredentials(this.rootDataDir, this.server);
  }

  /** initdb with a generated password; a half-made folder from an interrupted run is redone. */
  async initialise(): Promise<void> {
    const password = crypto.randomBytes(18).toString('base64url');
    await initdb(this.binDir, this.dataDir, password, 'peer');
    fs.writeFileSync(this.credentialsFile, JSON.stringify({ password }), { mode: 0o600 });
  }

  /** Starts the server on 127.0.0.1 only, waits for connections, and makes its database. */
  async start(): Promise<void> {
    letServerUserReach(this.dataDir);
    const [command, args] = asServerUser(path.join(this.binDir, 'postgres'), [
      '-D',
      this.dataDir,
      '-p',
      String(this.server.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      ...Object.entries(SERVER_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ]);
    const pid = this.processes.start(this.processName, command, args);
    const log = this.processes.logFile(this.processName);
    await waitFor(`postgres ${this.server.name}`, () => this.accepts(), { pid, log, timeoutMs: 60_000 });
    await this.createDatabase();
  }

  private async accepts(): Promise<boolean> {
    const sql = this.connect('postgres');
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  private async createDatabase(): Promise<void> {
    const sql = this.connect('postgres');
    try {
      const [existing] = await sql`select 1 from pg_database where datname = ${this.server.dbname}`;
      if (!existing) await sql`create database ${sql(this.server.dbname)}`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  connect(database = this.server.dbname): postgres.Sql {
    return connectAdmin(this.rootDataDir, this.server, database);
  }
}
