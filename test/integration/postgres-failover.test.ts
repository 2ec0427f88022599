import fs from 'node:fs';
import postgres from 'postgres';
import { databaseServers } from '../../infra/config';
import { FailoverMonitor, ReplicatedPostgres } from '../../infra/postgres/auto-failover';
import { ProcessRegistry } from '../../infra/processes/processes';
import { ensureToolchain } from '../../infra/stack/prerequisites';
import { readReplication } from '../../functions/ops/replication-view';
import { loginOf } from '../../layers/db/login';
import { eventually } from './support/eventually';
import { replicatedScratch } from './support/replicated-scratch';

/**
 * The replicated stack's PostgreSQL (`SHOP_HA=1`): a real pg_auto_failover monitor and one
 * formation of two real nodes, on this file's own ports and folders. Writers commit through the
 * functions' kind of login (every node listed, the primary kept); a node's keeper and server
 * killed -9 together (a machine lost), and then its PGDATA deleted (a disk lost), lose no
 * acknowledged commit, and writes go on after the engine promotes the standby.
 */
const quiet = { step: () => undefined };
const { dir, config } = replicatedScratch('postgres-failover', {
  SHOP_POSTGRES_PORT_BASE: '26410',
  SHOP_POSTGRES_MONITOR_PORT: '26400',
});
const server = databaseServers(config).find((candidate) => candidate.name === 'order-0')!;
const processes = new ProcessRegistry(config.runDir);
let monitor: FailoverMonitor;
let formation: ReplicatedPostgres;
let sql: postgres.Sql;

beforeAll(async () => {
  fs.chmodSync(dir, 0o755);
  const tools = await ensureToolchain(quiet, { replicated: true });
  monitor = new FailoverMonitor(config, tools.pgAutoctl!, tools.postgresBin, processes);
  await monitor.start();
  formation = new ReplicatedPostgres(server, config, monitor, tools.pgAutoctl!, tools.postgresBin, processes);
  await formation.start();
  const login = formation.credentials();
  sql = postgres({ ...loginOf(login, login.dbname), max: 8, connect_timeout: 2, onnotice: () => undefined });
  await sql`create table acknowledged (id bigint primary key)`;
}, 180_000);

afterAll(async () => {
  await sql?.end({ timeout: 1 });
  await Promise.all(
    [...(formation?.processNames ?? []), ...(monitor ? [monitor.processName] : [])].map((name) => processes.stop(name, 'SIGKILL', 0)),
  );
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

let next = 0;

/** Eight writers committing numbered rows until stopped; a row counts once its COMMIT returned. */
function writing() {
  const acknowledged = new Set<number>();
  const failedAt: number[] = [];
  let on = true;
  const writers = Array.from({ length: 8 }, async () => {
    while (on) {
      const id = next++;
      await sql`insert into acknowledged (id) values (${id})`.then(
        () => acknowledged.add(id),
        async () => {
          failedAt.push(Date.now());
          await new Promise((resolve) => setTimeout(resolve, 100));
        },
      );
    }
  });
  return {
    acknowledged,
    failedAt,
    ackedAfter: (count: number) =>
      eventually(`${count} commits acknowledged`, async () => (acknowledged.size >= count ? true : undefined), 60_000),
    stop: async () => {
      on = false;
      await Promise.all(writers);
    },
  };
}

/** The node the writers' login reaches: the primary, as a client finds it. */
const primaryNode = async () => {
  const [reached] = await sql<{ port: string }[]>`select current_setting('port') as port`;
  return formation.nodes.find((node) => node.port === Number(reached!.port))!;
};

/** A machine lost: the keeper and its PostgreSQL, the whole process group, killed at once. */
const killNode = (processName: string) => process.kill(-processes.pidOf(processName)!, 'SIGKILL');

const stored = async () => new Set((await sql<{ id: string }[]>`select id from acknowledged`).map((row) => Number(row.id)));

it('promotes the standby when the primary is killed -9, and again once the old one is rebuilt from a lost disk; nothing acknowledged is lost', async () => {
  const writes = writing();
  try {
    await writes.ackedAfter(300);
    const first = await primaryNode();
    killNode(first.processName);
    const killedAt = Date.now();
    const atKill = writes.acknowledged.size;
    await writes.ackedAfter(atKill + 300);
    expect((await primaryNode()).name).not.toBe(first.name);

    // The old primary's disk is gone: started again, its keeper rebuilds it from the new primary.
    fs.rmSync(first.pgdata, { recursive: true, force: true });
    await formation.startNode(first.processName);
    await formation.replicated();
    console.log(`kill -9 of the primary: commits failed for ${((writes.failedAt.at(-1)! - killedAt) / 1000).toFixed(1)} s`);

    // The rebuilt node is the one promoted now: it holds every commit acknowledged before.
    const second = await primaryNode();
    const atSecondKill = writes.acknowledged.size;
    killNode(second.processName);
    await writes.ackedAfter(atSecondKill + 300);
    expect((await primaryNode()).name).toBe(first.name);
    await formation.startNode(second.processName);
    await formation.replicated();
  } finally {
    await writes.stop();
  }
  const rows = await stored();
  const lost = [...writes.acknowledged].filter((id) => !rows.has(id));
  expect(lost).toEqual([]);
}, 240_000);

it('keeps taking writes while the monitor is dead, and while the standby is (then unreplicated, as the live view says)', async () => {
  const writes = writing();
  try {
    await writes.ackedAfter(100);
    killNode(monitor.processName);
    await writes.ackedAfter(writes.acknowledged.size + 300);
    expect(writes.failedAt).toEqual([]);
    await monitor.start();

    const primary = await primaryNode();
    const standby = formation.nodes.find((node) => node !== primary)!;
    killNode(standby.processName);
    await eventually('the primary to stop waiting for its lost standby', async () =>
      (await monitor.nodesOf(server)).some((node) => node.port === primary.port && node.reported === 'wait_primary') ? true : undefined,
    );
    await writes.ackedAfter(writes.acknowledged.size + 300);
    expect(await readReplication(sql)).toBe('unreplicated');
    await formation.startNode(standby.processName);
    await formation.replicated();
    await writes.ackedAfter(writes.acknowledged.size + 100);
    expect(await readReplication(sql)).toBe('synchronous');
  } finally {
    await writes.stop();
  }
  expect(writes.failedAt).toEqual([]);
  const rows = await stored();
  expect([...writes.acknowledged].filter((id) => !rows.has(id))).toEqual([]);
}, 240_000);
