import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { DatabaseServer, StackConfig } from '../config';
import { loginOf } from '../../layers/db/login';
import { isAlive, type ProcessRegistry, run, sleep, waitFor } from '../processes/processes';
import { formationNodeName, MONITOR_NODE, postgresProcessName } from './process-names';
import {
  asServerUser,
  credentialsFileOf,
  type DatabaseCredentials,
  initdb,
  letServerUserReach,
  readCredentials,
  SERVER_SETTINGS,
  SUPERUSER,
} from './server';

/**
 * The monitor's timings. Its defaults (a check every 5 s, a node unhealthy after 20 s, 30 s for
 * the old primary to demote itself) take about a minute to promote a standby; these take seconds
 * on one machine, where a missed check means a dead process, not a slow network.
 */
const MONITOR_SETTINGS: Readonly<Record<string, string>> = {
  'pgautofailover.health_check_period': '1000',
  'pgautofailover.health_check_timeout': '1000',
  'pgautofailover.health_check_max_retries': '1',
  'pgautofailover.health_check_retry_delay': '500',
  'pgautofailover.node_considered_unhealthy_timeout': '2000',
  'pgautofailover.primary_demote_timeout': '4000',
};

/**
 * A primary's keeper that reaches neither the monitor nor its standby for this many seconds stops
 * taking writes: shorter than the monitor's `primary_demote_timeout`, so that the old primary has
 * stopped before the standby is promoted and two primaries never take writes at once.
 */
const KEEPER_SETTINGS: Readonly<Record<string, string>> = { 'timeout.network_partition_timeout': '3' };

/** The engine's own logins are trusted on the loopback only; every client logs in with the password. */
const NODE_HBA = [
  'local all all trust',
  'host replication pgautofailover_replicator 127.0.0.1/32 trust',
  'host all pgautofailover_replicator 127.0.0.1/32 trust',
  'host all pgautofailover_monitor 127.0.0.1/32 trust',
  'host all all 127.0.0.1/32 scram-sha-256',
];
const MONITOR_HBA = [
  'local all all trust',
  'host pg_auto_failover autoctl_node 127.0.0.1/32 trust',
  'host all all 127.0.0.1/32 scram-sha-256',
];

const START_TIMEOUT_MS = 120_000;

/** What the monitor says about one node of a formation. */
export interface NodeState {
  readonly name: string;
  readonly port: number;
  readonly reported: string;
  readonly assigned: string;
  readonly healthy: boolean;
}

/**
 * One node run by `pg_autoctl`: its PGDATA, and beside it the engine's configuration and state
 * (XDG folders of its own), so that losing PGDATA alone is a lost disk the engine rebuilds from.
 */
export class AutoctlNode {
  readonly dir: string;
  readonly pgdata: string;

  constructor(
    readonly name: string,
    readonly port: number,
    root: string,
    private readonly autoctl: string,
    private readonly binDir: string,
    private readonly socketDir: string,
    private readonly processes: ProcessRegistry,
  ) {
    this.dir = path.join(root, name);
    this.pgdata = path.join(this.dir, 'pgdata');
  }

  get processName(): string {
    return postgresProcessName(this.name);
  }

  /** Created and registered with the monitor once; its PGDATA may since have been lost. */
  get isCreated(): boolean {
    return fs.existsSync(path.join(this.dir, 'config', 'pg_autoctl', this.pgdata, 'pg_autoctl.cfg'));
  }

  /** Its PGDATA holds a cluster (it is gone when the disk was lost). */
  get hasData(): boolean {
    return fs.existsSync(path.join(this.pgdata, 'PG_VERSION'));
  }

  get isRunning(): boolean {
    return isAlive(this.processes.pidOf(this.processName));
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      PATH: `${this.binDir}:/usr/bin:/bin`,
      HOME: this.dir,
      XDG_CONFIG_HOME: path.join(this.dir, 'config'),
      XDG_DATA_HOME: path.join(this.dir, 'data'),
      XDG_RUNTIME_DIR: path.join(this.dir, 'run'),
      PGHOST: this.socketDir,
      PGUSER: SUPERUSER,
    };
  }

  /** The folder the postgres user owns (pg_autoctl writes its backups beside PGDATA). */
  async makeFolder(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    letServerUserReach(this.dir);
    if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:postgres', this.dir]);
  }

  /** A cluster of our own making (its superuser's password, its HBA rules), for pg_autoctl to adopt. */
  async initialise(password: string, hba: readonly string[]): Promise<void> {
    await initdb(this.binDir, this.pgdata, password, 'trust');
    fs.writeFileSync(path.join(this.pgdata, 'pg_hba.conf'), `${hba.join('\n')}\n`);
    const settings = { ...SERVER_SETTINGS, unix_socket_directories: `'${this.socketDir}'` };
    fs.appendFileSync(
      path.join(this.pgdata, 'postgresql.conf'),
      `${Object.entries(settings)
        .map(([name, value]) => `${name} = ${value}`)
        .join('\n')}\n`,
    );
  }

  command(args: readonly string[]): Promise<string> {
    const [command, asUser] = asServerUser(this.autoctl, args);
    return run(command, asUser, { env: this.env });
  }

  async configure(settings: Readonly<Record<string, string>>): Promise<void> {
    for (const [name, value] of Object.entries(settings)) await this.command(['config', 'set', '--pgdata', this.pgdata, name, value]);
  }

  /** `pg_autoctl run`: the node's keeper, which starts its PostgreSQL and follows the monitor. */
  run(): number {
    const [command, args] = asServerUser(this.autoctl, ['run', '--pgdata', this.pgdata]);
    return this.processes.start(this.processName, command, args, { env: this.env });
  }
}

/** The pg_auto_failover monitor: one for every formation (one per database server) of the stack. */
export class FailoverMonitor {
  readonly node: AutoctlNode;

  constructor(
    private readonly config: StackConfig,
    autoctl: string,
    binDir: string,
    private readonly processes: ProcessRegistry,
  ) {
    const root = path.join(config.dataDir, 'postgres');
    this.node = new AutoctlNode(MONITOR_NODE, config.ports.postgresMonitor, root, autoctl, binDir, socketDir(config), processes);
  }

  get processName(): string {
    return this.node.processName;
  }

  get uri(): string {
    return `postgres://autoctl_node@127.0.0.1:${this.node.port}/pg_auto_failover?sslmode=disable`;
  }

  /** Created on first start (a password of its own for its superuser), then run; its timings set each start. */
  async start(): Promise<void> {
    await makeSocketDir(this.config);
    if (!this.node.isCreated) {
      await this.node.makeFolder();
      const password = crypto.randomBytes(18).toString('base64url');
      await this.node.initialise(password, MONITOR_HBA);
      await this.node.command([
        'create',
        'monitor',
        '--pgdata',
        this.node.pgdata,
        '--pgport',
        String(this.node.port),
        '--hostname',
        '127.0.0.1',
        '--skip-pg-hba',
        '--no-ssl',
      ]);
      await this.node.configure({ 'postgresql.listen_addresses': '127.0.0.1' });
      fs.writeFileSync(this.credentialsFile, JSON.stringify({ password }), { mode: 0o600 });
    }
    const pid = this.node.run();
    await waitFor('pg_auto_failover monitor', () => this.accepts(), {
      pid,
      log: this.processes.logFile(this.processName),
      timeoutMs: 60_000,
    });
    const sql = this.superuser();
    try {
      for (const [name, value] of Object.entries(MONITOR_SETTINGS)) await sql.unsafe(`alter system set ${name} = '${value}'`);
      await sql`select pg_reload_conf()`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  private get credentialsFile(): string {
    return path.join(this.node.dir, 'credentials.json');
  }

  private superuser(): postgres.Sql {
    const { password } = JSON.parse(fs.readFileSync(this.credentialsFile, 'utf8')) as { password: string };
    const login = { host: '127.0.0.1', port: this.node.port, username: SUPERUSER, password };
    return postgres({ ...loginOf(login, 'pg_auto_failover'), max: 1, onnotice: () => undefined, connect_timeout: 5 });
  }

  private async accepts(): Promise<boolean> {
    return this.query(async (sql) => (await sql`select 1 from pgautofailover.formation limit 1`) !== undefined);
  }

  /** Runs `work` on a connection of the engine's own (`autoctl_node`), closed after. */
  async query<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const sql = postgres(this.uri, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
    try {
      return await work(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  /** A formation per database server, which allows a standby. */
  async ensureFormation(server: DatabaseServer): Promise<void> {
    await this.query(async (sql) => {
      const [exists] = await sql`select 1 from pgautofailover.formation where formationid = ${server.name}`;
      if (!exists) await sql`select pgautofailover.create_formation(${server.name}, 'pgsql', ${server.dbname}, true, 0)`;
    });
  }

  async nodesOf(server: DatabaseServer): Promise<NodeState[]> {
    return this.query(async (sql) =>
      (
        await sql<{ nodename: string; nodeport: number; reportedstate: string; goalstate: string; health: number }[]>`
          select nodename, nodeport, reportedstate::text, goalstate::text, health
          from pgautofailover.node where formationid = ${server.name} order by nodeid`
      ).map((node) => ({
        name: node.nodename,
        port: node.nodeport,
        reported: node.reportedstate,
        assigned: node.goalstate,
        healthy: node.health === 1,
      })),
    );
  }
}

/**
 * One database server of the replicated stack: a pg_auto_failover formation of two nodes, a
 * primary and a standby that confirms every commit before it is acknowledged
 * (`synchronous_standby_names = 'ANY 1 (…)'`, `synchronous_commit = on`). The monitor promotes
 * the standby when the primary is lost; the lost node, started again, follows the new primary,
 * rebuilt from it when its PGDATA is gone. Either node may be the primary: clients list both.
 */
export class ReplicatedPostgres {
  readonly nodes: readonly [AutoctlNode, AutoctlNode];

  constructor(
    readonly server: DatabaseServer,
    private readonly config: StackConfig,
    private readonly monitor: FailoverMonitor,
    autoctl: string,
    binDir: string,
    processes: ProcessRegistry,
  ) {
    const root = path.join(config.dataDir, 'postgres');
    const [first, second] = server.nodePorts.map(
      (port, index) =>
        new AutoctlNode(formationNodeName(server, index === 0 ? 1 : 2), port, root, autoctl, binDir, socketDir(config), processes),
    );
    this.nodes = [first!, second!];
  }

  get processNames(): string[] {
    return this.nodes.map((node) => node.processName);
  }

  credentials(): DatabaseCredentials {
    return readCredentials(this.config.dataDir, this.server);
  }

  /**
   * The first node made and registered as the primary, the second as its standby (a base backup
   * of the first); afterwards each node's keeper is only run again. Returns once the formation has
   * a primary and a synchronous standby.
   */
  async start(): Promise<void> {
    await this.monitor.ensureFormation(this.server);
    const [first, second] = this.nodes;
    if (!first.isCreated) {
      await first.makeFolder();
      const password = crypto.randomBytes(18).toString('base64url');
      await first.initialise(password, NODE_HBA);
      fs.writeFileSync(credentialsFileOf(this.config.dataDir, this.server), JSON.stringify({ password }), { mode: 0o600 });
      await this.create(first);
    }
    if (!first.isRunning) first.run();
    if (!second.isCreated) {
      await waitFor(`${this.server.name}: a primary`, () => this.acceptsWrites(), { timeoutMs: START_TIMEOUT_MS });
      await second.makeFolder();
      await this.whileCheckpointing(() => this.create(second));
    }
    if (!second.isRunning) second.run();
    await this.replicated();
  }

  /** The node clients reach now: the primary, as they find it. */
  async primaryNode(): Promise<AutoctlNode> {
    const [reached] = await this.onPrimary((sql) => sql<{ port: string }[]>`select current_setting('port') as port`);
    const node = this.nodes.find((candidate) => candidate.port === Number(reached?.port));
    if (!node) throw new Error(`${this.server.name}: the primary reached listens on port ${reached?.port}, no node of it`);
    return node;
  }

  /** Starts the keeper of one node that died (its PGDATA replayed, or rebuilt from the primary if lost). */
  async startNode(processName: string): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.processName === processName);
    if (!node) throw new Error(`no node ${processName} in ${this.server.name}`);
    if (!node.isCreated) return this.start();
    if (node.isRunning) return;
    if (node.hasData) {
      node.run();
      return;
    }
    // A lost disk: its keeper rebuilds it by a base backup of the primary, which waits for a checkpoint.
    await this.whileCheckpointing(async () => {
      node.run();
      await this.replicated();
    });
  }

  /**
   * Until a client reaches a primary that takes writes and has a standby streaming that confirms
   * each commit, as the primary itself says (the monitor's states are a start behind after a
   * restart), and the monitor has settled both nodes as `primary` and `secondary` (until then it
   * would promote neither: losing the primary before is a double fault, and waits for it).
   */
  async replicated(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    await waitFor(
      `${this.server.name}: a primary and its synchronous standby`,
      async () => {
        const nodes = await this.monitor.nodesOf(this.server);
        const settled = (state: string) => nodes.some((node) => node.reported === state && node.assigned === state);
        if (!(settled('primary') && settled('secondary'))) return false;
        return this.onPrimary(async (sql) => {
          const [primary] = await sql<{ writable: boolean; synchronous: number }[]>`
            select not pg_is_in_recovery() and current_setting('transaction_read_only') = 'off' as writable,
                   (select count(*) from pg_stat_replication where state = 'streaming' and sync_state in ('sync', 'quorum'))::int as synchronous`;
          return primary?.writable === true && primary.synchronous > 0;
        });
      },
      { timeoutMs },
    );
  }

  private async onPrimary<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    const sql = postgres({ ...loginOf(this.credentials(), 'postgres'), max: 1, onnotice: () => undefined, connect_timeout: 2 });
    try {
      return await work(sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }

  private async create(node: AutoctlNode): Promise<void> {
    await node.command([
      'create',
      'postgres',
      '--pgdata',
      node.pgdata,
      '--pgport',
      String(node.port),
      '--listen',
      '127.0.0.1',
      '--hostname',
      '127.0.0.1',
      '--username',
      SUPERUSER,
      '--dbname',
      this.server.dbname,
      '--formation',
      this.server.name,
      '--name',
      node.name,
      '--monitor',
      this.monitor.uri,
      '--skip-pg-hba',
      '--no-ssl',
    ]);
    await node.configure(KEEPER_SETTINGS);
  }

  /**
   * A standby's base backup waits for the primary's next checkpoint, spread over minutes by
   * default, and pg_autoctl asks for no fast one: a CHECKPOINT on the primary every second
   * meanwhile ends that wait (each is cheap: it writes what became dirty in the last second).
   */
  private async whileCheckpointing(work: () => Promise<void>): Promise<void> {
    await this.onPrimary(async (sql) => {
      let working = true;
      const checkpoints = (async () => {
        while (working) {
          await sql`checkpoint`.catch(() => undefined);
          await sleep(1000);
        }
      })();
      try {
        await work();
      } finally {
        working = false;
        await checkpoints;
      }
    });
  }

  /** A client reaches a primary that takes writes (a node being promoted is read-only for a moment). */
  async acceptsWrites(): Promise<boolean> {
    return this.onPrimary(async (sql) => {
      const [server] = await sql<{ standby: boolean; readOnly: string }[]>`
        select pg_is_in_recovery() as standby, current_setting('transaction_read_only') as "readOnly"`;
      return server?.standby === false && server.readOnly === 'off';
    });
  }
}

/** One folder for every node's Unix socket (pg_autoctl's own logins), reachable by the postgres user only. */
function socketDir(config: StackConfig): string {
  return path.join(config.dataDir, 'postgres', 'sockets');
}

async function makeSocketDir(config: StackConfig): Promise<void> {
  const dir = socketDir(config);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  letServerUserReach(dir);
  if (process.getuid?.() === 0) await run('chown', ['postgres:postgres', dir]);
}
