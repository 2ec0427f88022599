import path from 'node:path';

/** Each service's schema migrations, applied by the local stack at start and on AWS by the setup function. */
export const MIGRATIONS_ROOT = path.join(__dirname, 'migrations');
