import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadStackConfig, stackAddresses } from '../config';
import { SLOTTED_SERVICES } from '../../layers/resharding/slot-adoption';
import { localSecretsClient } from '../secrets/local-secrets-manager';
import { consoleProgress } from '../processes/progress';
import { ShardsTool } from './shards';
import type { ShardedService } from '../../layers/config/services';

const USAGE = `use: npm run shards -- status | add <order|stock|payment> | remove <order|stock|payment>-<n>  [--prefix <service>/<stage>]
  without --prefix: the local stack (npm start)
  with --prefix: a deployed stage, through AWS Secrets Manager with this shell's AWS credentials and region,
    run where its databases can be reached (the VPC; DB_SSL=require for RDS)`;

function serviceOf(name: string | undefined): ShardedService {
  if (name && name in SLOTTED_SERVICES) return name as ShardedService;
  throw new Error(
    `${name ?? '(none)'} is not a service whose shards can be added or removed (${Object.keys(SLOTTED_SERVICES).join(', ')}); ${USAGE}`,
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { prefix: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const [command, target] = positionals;
  let prefix = values.prefix;
  let secrets: SecretsManagerClient;
  if (prefix === undefined) {
    const config = loadStackConfig();
    prefix = `${config.service}/${config.stage}`;
    secrets = localSecretsClient(stackAddresses(config).secretsEndpoint);
  } else {
    secrets = new SecretsManagerClient({});
  }
  const tool = new ShardsTool(prefix, secrets, consoleProgress);
  try {
    switch (command) {
      case 'status':
        console.log(await tool.status());
        return;
      case 'add': {
        const report = await tool.add(serviceOf(target));
        consoleProgress.step(
          `added ${report.service}-${report.shard}: ${report.moved} slots moved in ${report.seconds.toFixed(1)} s, longest pause ${report.longestPauseMs} ms`,
        );
        return;
      }
      case 'remove': {
        const match = /^(\w+)-(\d+)$/.exec(target ?? '');
        if (!match) throw new Error(`${target ?? '(none)'} does not name a shard such as stock-2; ${USAGE}`);
        const report = await tool.remove(serviceOf(match[1]), Number(match[2]));
        consoleProgress.step(
          `removed ${report.service}-${report.shard}: ${report.moved} slots moved in ${report.seconds.toFixed(1)} s, longest pause ${report.longestPauseMs} ms`,
        );
        return;
      }
      default:
        throw new Error(`unknown command ${command ?? '(none)'}; ${USAGE}`);
    }
  } finally {
    secrets.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
