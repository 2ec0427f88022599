import fs from 'node:fs';

/** The process and its children, read from /proc: a PostgreSQL server's backends each lead a process group of their own. */
function withChildren(pid: number): number[] {
  const children = fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [pid, ...children];
}

/** Stops a server and every process it has started (SIGSTOP); the returned function resumes exactly those. */
export function freeze(pid: number): () => void {
  const frozen = withChildren(pid);
  for (const process_ of frozen) process.kill(process_, 'SIGSTOP');
  return () => {
    for (const process_ of frozen) {
      try {
        process.kill(process_, 'SIGCONT');
      } catch {
        // gone meanwhile
      }
    }
  };
}
