import type { DatabaseServer } from '../config';

/**
 * The stack's one naming of its PostgreSQL processes (logs, pid files, the supervisor):
 * `postgres-<server>` in the light stack; in the replicated one `postgres-<server>-<1|2>` for a
 * formation's nodes and `postgres-monitor` for pg_auto_failover's monitor.
 */
export const postgresProcessName = (name: string): string => `postgres-${name}`;

/** A formation's node: the server's name and its number, 1 or 2. */
export const formationNodeName = (server: DatabaseServer, node: 1 | 2): string => `${server.name}-${node}`;

export const MONITOR_NODE = 'monitor';

/** The pg_auto_failover monitor's process (the replicated stack's only). */
export const MONITOR_PROCESS = postgresProcessName(MONITOR_NODE);
