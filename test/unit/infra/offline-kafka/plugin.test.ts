import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { resolveLambdaEndpoint, waitUntilListening } from '../../../../infra/offline-kafka/lambda-endpoint';
import { OfflineKafkaPlugin, type ServerlessLike } from '../../../../infra/offline-kafka/plugin';
import type { Logger } from '../../../../infra/offline-kafka/logger';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, error: push('error'), warning: push('warning'), notice: push('notice'), info: push('info'), debug: push('debug') };
}

function serverless(events: unknown[] = []): ServerlessLike {
  return {
    service: {
      service: 'shop',
      provider: { stage: 'local', region: 'eu-west-1' },
      custom: {},
      getAllFunctions: () => ['settle'],
      getFunction: () => ({ name: 'shop-local-settle', events }),
    },
  };
}

describe('resolveLambdaEndpoint', () => {
  it('defaults to serverless-offline’s localhost:3002', () => {
    expect(resolveLambdaEndpoint({}, {})).toEqual({ host: 'localhost', port: 3002 });
  });

  it('prefers the CLI over custom.serverless-offline', () => {
    const custom = { 'serverless-offline': { lambdaPort: 23200, host: '127.0.0.1' } };
    expect(resolveLambdaEndpoint({}, custom)).toEqual({ host: '127.0.0.1', port: 23200 });
    expect(resolveLambdaEndpoint({ lambdaPort: '23201' }, custom)).toEqual({ host: '127.0.0.1', port: 23201 });
  });

  it('connects to localhost when serverless-offline binds a wildcard address', () => {
    expect(resolveLambdaEndpoint({ host: '0.0.0.0' }, {}).host).toBe('localhost');
  });

  it('rejects a port that is not one', () => {
    expect(() => resolveLambdaEndpoint({ lambdaPort: 'abc' }, {})).toThrow('lambdaPort');
  });
});

describe('waitUntilListening', () => {
  it('resolves true once something accepts connections', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await expect(waitUntilListening({ host: '127.0.0.1', port }, new AbortController().signal, 10)).resolves.toBe(true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('resolves false when aborted first', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 30);
    await expect(waitUntilListening({ host: '127.0.0.1', port: 1 }, stop.signal, 10)).resolves.toBe(false);
  });
});

describe('OfflineKafkaPlugin', () => {
  it('hooks in after serverless-offline’s init and before its end', () => {
    const plugin = new OfflineKafkaPlugin(serverless(), {}, { log: recordingLogger() });
    expect(Object.keys(plugin.hooks).sort()).toEqual(['after:offline:start:init', 'before:offline:start', 'before:offline:start:end']);
  });

  it('logs skipped events and starts nothing when no event is usable', async () => {
    const log = recordingLogger();
    const plugin = new OfflineKafkaPlugin(serverless([{ msk: { arn: 'arn:x', topic: 't' } }]), {}, { log });
    await plugin.hooks['after:offline:start:init']!();
    await plugin.hooks['before:offline:start:end']!();
    expect(log.lines.filter((line) => !line.startsWith('debug:'))).toEqual([
      expect.stringMatching(/^warning: offline-kafka: function settle.*custom\.offlineKafka\.brokers/),
    ]);
  });

  it('does not throw on a broken setup (serverless-offline must keep running)', async () => {
    const log = recordingLogger();
    const plugin = new OfflineKafkaPlugin(serverless([{ kafka: { topic: 't', bootstrapServers: ['k:1'] } }]), { lambdaPort: 'x' }, { log });
    await expect(plugin.startConsumers()).resolves.toBeUndefined();
    expect(log.lines).toEqual([expect.stringContaining('error: offline-kafka: not starting Kafka consumers')]);
  });
});
