import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { databaseServers, kafkaNodePorts, loadStackConfig } from '../../../../infra/config';
import { MAX_INSTANCES } from '../../../../infra/gateway/nginx';
import { useTestStack } from '../../../../infra/stack/test-stack';

/** Every port a stack with these settings may listen on: servers and standbys at 16 shards a service, three Kafka nodes, 16 instances. */
function everyPort(env: NodeJS.ProcessEnv): Set<number> {
  const wide = loadStackConfig({ ...env, SHOP_ORDER_SHARDS: '16', SHOP_STOCK_SHARDS: '16', SHOP_PAYMENT_SHARDS: '16' });
  return new Set([
    wide.ports.gateway,
    wide.ports.secrets,
    wide.ports.postgresMonitor,
    ...databaseServers(wide).flatMap((server) => [...server.nodePorts]),
    ...[1, 2, 3].flatMap((node) => Object.values(kafkaNodePorts(wide, node))),
    ...Array.from({ length: MAX_INSTANCES }, (_, index) => [
      wide.ports.offlineHttpBase + index,
      wide.ports.offlineLambdaBase + index,
    ]).flat(),
  ]);
}

const sharedPorts = (a: NodeJS.ProcessEnv, b: NodeJS.ProcessEnv) => [...everyPort(a)].filter((port) => everyPort(b).has(port));

describe("the integration tests' own stack", () => {
  const root = path.resolve(__dirname, '../../../..');

  it.each(['0', '1'])('shares no port and no folder with npm start (SHOP_HA=%s)', (ha) => {
    const shop = { SHOP_HA: ha };
    const tests = useTestStack({ SHOP_HA: ha }, root);
    expect(sharedPorts(tests, shop)).toEqual([]);
    expect(loadStackConfig(tests).dataDir).not.toBe(loadStackConfig(shop).dataDir);
    expect(loadStackConfig(tests).runDir).not.toBe(loadStackConfig(shop).runDir);
  });

  it("overrides a developer's own port and folder settings, which are their shop's", () => {
    const mine = { SHOP_HA: '0', SHOP_GATEWAY_PORT: '9000', SHOP_DATA_DIR: '/srv/shop', SHOP_RUN_DIR: '/srv/run' };
    const tests = useTestStack({ ...mine }, root);
    expect(sharedPorts(tests, mine)).toEqual([]);
    expect(loadStackConfig(tests).dataDir).not.toBe(loadStackConfig(mine).dataDir);
    expect(loadStackConfig(tests).runDir).not.toBe(loadStackConfig(mine).runDir);
  });

  it('keeps the light and the replicated test stacks apart', () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'test-stack-'));
    try {
      const dataDir = (ha: string) => loadStackConfig(useTestStack({ SHOP_HA: ha }, scratch)).dataDir;
      expect(dataDir('1')).not.toBe(dataDir('0'));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
