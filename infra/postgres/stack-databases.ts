import { type DatabaseServer, databaseServers, type StackConfig } from '../config';
import type { ProcessRegistry } from '../processes/processes';
import type { Progress } from '../processes/progress';
import type { Toolchain } from '../stack/prerequisites';
import { FailoverMonitor, ReplicatedPostgres } from './auto-failover';
import { formationNodeName, MONITOR_PROCESS, postgresProcessName } from './process-names';
import { type DatabaseCredentials, PostgresServer } from './server';

const nodeProcess = (server: DatabaseServer, node: 1 | 2) => postgresProcessName(formationNodeName(server, node));

/** Every PostgreSQL process the stack runs: one per server, or two nodes per server and the monitor. */
export function databaseProcessNames(config: StackConfig): string[] {
  const servers = databaseServers(config);
  if (!config.ha) return servers.map((server) => postgresProcessName(server.name));
  return [MONITOR_PROCESS, ...servers.flatMap((server) => [nodeProcess(server, 1), nodeProcess(server, 2)])];
}

/**
 * The stack's PostgreSQL, light (a server per database, restarted on its own storage when it
 * dies) or replicated (`SHOP_HA=1`: a pg_auto_failover formation per database, one monitor).
 */
export class StackDatabases {
  private readonly monitor?: FailoverMonitor;

  constructor(
    private readonly config: StackConfig,
    private readonly tools: Toolchain,
    private readonly processes: ProcessRegistry,
  ) {
    if (config.ha) {
      if (!tools.pgAutoctl) throw new Error('the replicated stack needs pg_autoctl (ensureToolchain with replicated)');
      this.monitor = new FailoverMonitor(config, tools.pgAutoctl, tools.postgresBin, processes);
    }
  }

  /** The monitor first, when there is one: every formation registers with it. */
  async startMonitor(progress: Progress): Promise<void> {
    if (!this.monitor) return;
    await this.monitor.start();
    progress.step(`postgres: pg_auto_failover monitor up on port ${this.config.ports.postgresMonitor}`);
  }

  /** Starts one server (made on its first start), ready for writes; a replicated one with its standby in sync. */
  async start(server: DatabaseServer, progress: Progress): Promise<DatabaseCredentials> {
    const database = this.of(server);
    if (database instanceof PostgresServer) {
      if (!database.isInitialised) {
        progress.step(`postgres: initialising ${server.name}`);
        await database.initialise();
      }
      await database.start();
      return database.credentials();
    }
    await database.start();
    return database.credentials();
  }

  /** Starts again a process of the stack's PostgreSQL that died (a node's PGDATA is rebuilt if lost). */
  async revive(processName: string): Promise<void> {
    if (this.monitor && processName === MONITOR_PROCESS) return this.monitor.start();
    const server = databaseServers(this.config).find((candidate) =>
      this.config.ha
        ? ([1, 2] as const).some((node) => nodeProcess(candidate, node) === processName)
        : postgresProcessName(candidate.name) === processName,
    );
    if (!server) throw new Error(`no process ${processName} in this stack`);
    const database = this.of(server);
    if (database instanceof PostgresServer) return database.start();
    await database.startNode(processName);
  }

  /**
   * A clean restart (fast shutdown: open sessions are cut) of one server; in the replicated
   * stack, of its primary's node, whose standby the monitor promotes if it is not back first.
   */
  async restart(name: string): Promise<void> {
    const server = databaseServers(this.config).find((candidate) => candidate.name === name);
    if (!server) throw new Error(`no database ${name} in this stack`);
    const database = this.of(server);
    if (database instanceof PostgresServer) {
      await this.processes.stop(database.processName, 'SIGINT', 30_000);
      return database.start();
    }
    const primary = await database.primaryNode();
    await this.processes.stop(primary.processName, 'SIGINT', 30_000);
    await database.startNode(primary.processName);
    await database.replicated();
  }

  /** The replicated server's formation (primary, standby, their states), for tools and tests. */
  formation(server: DatabaseServer): ReplicatedPostgres {
    const database = this.of(server);
    if (database instanceof PostgresServer) throw new Error('only the replicated stack (SHOP_HA=1) has standbys');
    return database;
  }

  private of(server: DatabaseServer): PostgresServer | ReplicatedPostgres {
    if (!this.monitor) return new PostgresServer(server, this.tools.postgresBin, this.config.dataDir, this.processes);
    return new ReplicatedPostgres(server, this.config, this.monitor, this.tools.pgAutoctl!, this.tools.postgresBin, this.processes);
  }
}
