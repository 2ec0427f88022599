import crypto from 'node:crypto';
import fs from 'node:fs';
import { migrationsOf } from '../../layers/db/migrate';
import { MIGRATIONS_ROOT } from '../postgres/migrations';
import { type Resources, getAtt } from './cloudformation';
import type { DeployParameters } from './parameters';

export const SETUP_RUN = 'SetupRun';
/** Serverless's logical id of the `setup` function (infra/deploy/functions.yml). */
const SETUP_FUNCTION = 'SetupLambdaFunction';

/**
 * What the setup makes true; CloudFormation runs the setup again whenever it changes: a new
 * migration, another shard count or partition count.
 */
function revision(parameters: DeployParameters): string {
  const hash = crypto.createHash('sha256');
  for (const service of ['order', 'stock', 'payment']) {
    for (const { version, file } of migrationsOf(MIGRATIONS_ROOT, service))
      hash.update(`${service}/${version}\n`).update(fs.readFileSync(file));
  }
  // `answers` names the attributes its answer carries: a stack set up before one existed runs it again.
  hash.update(JSON.stringify({ shards: parameters.shards, kafkaPartitions: parameters.kafkaPartitions, answers: ['BootstrapBrokers'] }));
  return hash.digest('hex').slice(0, 16);
}

/**
 * A custom resource that has CloudFormation invoke the setup function (migrations, topics) during
 * the deploy, once the databases, the cluster and the way out (NAT) are in place; the deploy
 * plugin makes the event source mappings wait for it, so they never start on a missing topic.
 * The deploy fails, and rolls back, when the setup fails.
 */
export function setupRunResource(parameters: DeployParameters, createdDependencies: readonly string[]): Resources {
  return {
    [SETUP_RUN]: {
      Type: 'Custom::Setup',
      DependsOn: [...createdDependencies],
      Properties: {
        ServiceToken: getAtt(SETUP_FUNCTION, 'Arn'),
        // Seconds CloudFormation waits for an answer: the function's timeout and a margin.
        ServiceTimeout: 330,
        Revision: revision(parameters),
      },
    },
  };
}
