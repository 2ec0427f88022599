import fs from 'node:fs';
import path from 'node:path';
import { run } from '../processes/processes';
import type { Progress } from '../processes/progress';

/** Where a tool lives once found, so that later steps call it by absolute path. */
export interface Toolchain {
  readonly java: string;
  readonly mvn: string;
  readonly nginx: string;
  readonly postgresBin: string;
  readonly python: string;
  /** pg_auto_failover's pg_autoctl, found only when the replicated stack is asked for. */
  readonly pgAutoctl?: string;
}

interface Requirement {
  readonly name: string;
  readonly find: () => string | undefined;
  readonly debianPackages: readonly string[];
  readonly why: string;
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const candidate = path.join(dir, command);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Debian keeps the server binaries off PATH, in /usr/lib/postgresql/<version>/bin. */
function postgresBinDir(): string | undefined {
  const initdb = onPath('initdb');
  if (initdb && fs.existsSync(path.join(path.dirname(fs.realpathSync(initdb)), 'postgres'))) {
    return path.dirname(fs.realpathSync(initdb));
  }
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (fs.existsSync(path.join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

const REQUIREMENTS: Record<Exclude<keyof Toolchain, 'pgAutoctl'>, Requirement> = {
  // The release's own default Java: 17 on Debian 12, 21 on Debian 13 (which ships no openjdk-17).
  java: { name: 'java', find: () => onPath('java'), debianPackages: ['default-jre-headless'], why: 'Kafka needs Java 17+' },
  mvn: { name: 'mvn', find: () => onPath('mvn'), debianPackages: ['maven'], why: "Maven fetches Kafka's jars" },
  nginx: { name: 'nginx', find: () => onPath('nginx'), debianPackages: ['nginx'], why: 'NGINX is the gateway' },
  postgresBin: {
    name: 'postgres',
    find: postgresBinDir,
    debianPackages: ['postgresql'],
    why: 'the databases are PostgreSQL',
  },
  python: {
    name: 'python3',
    find: () => onPath('python3'),
    debianPackages: ['python3', 'python3-venv'],
    why: 'the local Secrets Manager (moto) is Python',
  },
};

/** pg_autoctl, and the monitor's extension built for the PostgreSQL found (Debian: postgresql-<major>-auto-failover). */
function pgAutoctl(): string | undefined {
  const bin = postgresBinDir();
  const extension = bin && path.join(path.dirname(bin), 'lib', 'pgautofailover.so');
  return extension && fs.existsSync(extension) ? onPath('pg_autoctl') : undefined;
}

const AUTO_FAILOVER: Requirement = {
  name: 'pg_autoctl',
  find: pgAutoctl,
  get debianPackages() {
    const major = path.basename(path.dirname(postgresBinDir() ?? '/usr/lib/postgresql/15/bin'));
    return [`postgresql-${major}-auto-failover`];
  },
  why: "the replicated stack's PostgreSQL failover is pg_auto_failover",
};

const isRoot = () => process.getuid?.() === 0;

/**
 * Finds every tool the stack runs; installs what is missing with apt-get when it can do so
 * without asking (as root on Debian), otherwise stops with one sentence saying what to install.
 */
export async function ensureToolchain(progress: Progress, { replicated = false } = {}): Promise<Toolchain> {
  const missing = (Object.keys(REQUIREMENTS) as (keyof typeof REQUIREMENTS)[]).filter((key) => !REQUIREMENTS[key].find());
  if (missing.length > 0) {
    const packages = missing.flatMap((key) => REQUIREMENTS[key].debianPackages);
    if (!isRoot() || !onPath('apt-get')) {
      const first = REQUIREMENTS[missing[0]!];
      throw new Error(`${first.name} not found: ${first.why}; on Debian: apt-get install ${packages.join(' ')}`);
    }
    progress.step(`prerequisites: installing ${packages.join(' ')} with apt-get`);
    await aptInstall(packages);
  }
  const found = {} as Record<keyof typeof REQUIREMENTS, string>;
  for (const key of Object.keys(REQUIREMENTS) as (keyof typeof REQUIREMENTS)[]) {
    const location = REQUIREMENTS[key].find();
    if (!location) throw new Error(`${REQUIREMENTS[key].name} not found after installing it: ${REQUIREMENTS[key].why}`);
    found[key] = location;
  }
  await checkJavaVersion(found.java);
  if (!replicated) return found;
  // After the rest: the package to ask for depends on the PostgreSQL version found.
  if (!AUTO_FAILOVER.find()) {
    if (!isRoot() || !onPath('apt-get')) {
      throw new Error(`pg_autoctl not found: ${AUTO_FAILOVER.why}; on Debian: apt-get install ${AUTO_FAILOVER.debianPackages.join(' ')}`);
    }
    progress.step(`prerequisites: installing ${AUTO_FAILOVER.debianPackages.join(' ')} with apt-get`);
    await aptInstall(AUTO_FAILOVER.debianPackages);
  }
  const autoctl = AUTO_FAILOVER.find();
  if (!autoctl) throw new Error(`pg_autoctl not found after installing it: ${AUTO_FAILOVER.why}`);
  return { ...found, pgAutoctl: autoctl };
}

async function checkJavaVersion(java: string): Promise<void> {
  const output = await run(java, ['-version']);
  const major = Number(/version "(\d+)/.exec(output)?.[1]);
  if (!(major >= 17)) {
    throw new Error(
      `java at ${java} is too old (${output.split('\n')[0]}): Kafka needs Java 17+; on Debian 12 or 13: apt-get install default-jre-headless`,
    );
  }
}

/**
 * apt-get install without letting the packages start their system services (Debian would start
 * nginx on :80 and a PostgreSQL cluster on :5432, neither of which this stack uses).
 */
async function aptInstall(packages: readonly string[]): Promise<void> {
  const policy = '/usr/sbin/policy-rc.d';
  const placed = !fs.existsSync(policy);
  if (placed) fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-q'], { env });
    await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env });
  } finally {
    if (placed) fs.rmSync(policy, { force: true });
  }
}
