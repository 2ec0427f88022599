import { databaseServers, loadStackConfig, STANDBY_PORT_OFFSET } from '../../../infra/config';

describe('loadStackConfig', () => {
  it('defaults to 2 shards of each service and 2 instances, the gateway on 8000', () => {
    const config = loadStackConfig({ SHOP_HA: '0' });

    expect(config.shards).toEqual({ order: 2, stock: 2, payment: 2 });
    expect(config.instances).toBe(2);
    expect(config.ports.gateway).toBe(8000);
  });

  it('warms the broker for 10 s unless told otherwise, and 0 skips it', () => {
    expect(loadStackConfig({}).kafkaWarmUpS).toBe(10);
    expect(loadStackConfig({ SHOP_KAFKA_WARMUP_S: '0' }).kafkaWarmUpS).toBe(0);
    expect(() => loadStackConfig({ SHOP_KAFKA_WARMUP_S: '600' })).toThrow('SHOP_KAFKA_WARMUP_S=600 is not a whole number from 0 to 120');
  });

  it('names the variable that is out of range', () => {
    expect(() => loadStackConfig({ SHOP_ORDER_SHARDS: '0' })).toThrow('SHOP_ORDER_SHARDS=0 is not a whole number from 1 to 16');
    expect(() => loadStackConfig({ SHOP_GATEWAY_PORT: 'eighty' })).toThrow('SHOP_GATEWAY_PORT=eighty');
    // A checkout must answer before the function's 28 s; a late Prepare must be refused before its record may go.
    expect(() => loadStackConfig({ SHOP_CHECKOUT_TIMEOUT_MS: '60000' })).toThrow(
      'SHOP_CHECKOUT_TIMEOUT_MS=60000 is not a whole number from 100 to 12000',
    );
    expect(() => loadStackConfig({ SHOP_LOG_RETENTION_S: '60' })).toThrow(
      'SHOP_LOG_RETENTION_S=60 is not a whole number from 600 to 31536000',
    );
  });
});

describe('databaseServers', () => {
  it('gives every shard, and the probe database, its own server on its own port', () => {
    const servers = databaseServers(loadStackConfig({ SHOP_ORDER_SHARDS: '3', SHOP_STOCK_SHARDS: '1', SHOP_PAYMENT_SHARDS: '2' }));

    expect(servers.map((server) => server.name)).toEqual(['order-0', 'order-1', 'order-2', 'stock-0', 'payment-0', 'payment-1', 'probe']);
    expect(new Set(servers.map((server) => server.port)).size).toBe(servers.length);
  });
});

describe('the replicated stack (SHOP_HA=1)', () => {
  it('gives every server a standby node STANDBY_PORT_OFFSET above it, clear of every other port, and three Kafka nodes', () => {
    const config = loadStackConfig({ SHOP_HA: '1', SHOP_ORDER_SHARDS: '16', SHOP_STOCK_SHARDS: '16', SHOP_PAYMENT_SHARDS: '16' });
    const servers = databaseServers(config);
    const ports = servers.flatMap((server) => server.nodePorts);

    expect(servers.every((server) => server.nodePorts.length === 2 && server.nodePorts[1] === server.port + STANDBY_PORT_OFFSET)).toBe(
      true,
    );
    expect(new Set([...ports, config.ports.postgresMonitor]).size).toBe(ports.length + 1);
    expect(config.kafkaNodes).toBe(3);
    expect(databaseServers(loadStackConfig({ SHOP_HA: '0' })).every((server) => server.nodePorts.length === 1)).toBe(true);
  });
});
