import { childrenOf } from '../../../infra/processes/processes';

/**
 * Stops a server and every process it has started (SIGSTOP): a PostgreSQL server's backends each
 * lead a process group of their own. The returned function resumes exactly those.
 */
export function freeze(pid: number): () => void {
  const frozen = [pid, ...childrenOf(pid)];
  for (const member of frozen) process.kill(member, 'SIGSTOP');
  return () => {
    for (const member of frozen) {
      try {
        process.kill(member, 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    }
  };
}
