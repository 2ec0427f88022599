import { loadStackConfig, stackAddresses } from '../config';
import { SLOTTED_SERVICES, type SlottedService } from '../../layers/db/slot-adoption';
import { localSecretsClient } from '../secrets/local-secrets-manager';
import { consoleProgress } from '../stack/progress';
import { ShardsTool } from './shards';

const USAGE = 'use: npm run shards -- status | add <stock|payment> | remove <stock|payment>-<n>';

function serviceOf(name: string | undefined): SlottedService {
  if (name && name in SLOTTED_SERVICES) return name as SlottedService;
  throw new Error(`${name ?? '(none)'} is not a service whose shards can be added or removed (${Object.keys(SLOTTED_SERVICES).join(', ')}); ${USAGE}`);
}

async function main([command, target]: string[]): Promise<void> {
  const config = loadStackConfig();
  const secrets = localSecretsClient(stackAddresses(config).secretsEndpoint);
  const tool = new ShardsTool(config, secrets, consoleProgress);
  try {
    switch (command) {
      case 'status':
        console.log(await tool.status());
        return;
      case 'add': {
        const report = await tool.add(serviceOf(target));
        consoleProgress.step(`added ${report.service}-${report.shard}: ${report.moved} slots moved in ${report.seconds.toFixed(1)} s, longest pause ${report.longestPauseMs} ms`);
        return;
      }
      case 'remove': {
        const match = /^(\w+)-(\d+)$/.exec(target ?? '');
        if (!match) throw new Error(`${target ?? '(none)'} does not name a shard such as stock-2; ${USAGE}`);
        const report = await tool.remove(serviceOf(match[1]), Number(match[2]));
        consoleProgress.step(`removed ${report.service}-${report.shard}: ${report.moved} slots moved in ${report.seconds.toFixed(1)} s, longest pause ${report.longestPauseMs} ms`);
        return;
      }
      default:
        throw new Error(`unknown command ${command ?? '(none)'}; ${USAGE}`);
    }
  } finally {
    secrets.destroy();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
