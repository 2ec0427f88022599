import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { databaseServers, loadStackConfig, stackAddresses } from '../../infra/config';
import { COMPOSE_SERVICES, composeAddresses, KAFKA_CONTAINER_PORT } from '../../infra/docker/addresses';
import { composeGatewayConfig } from '../../infra/docker/gateway-config';
import { functionEnvironment, offlineInstances } from '../../infra/offline/instances';
import { readCredentials } from '../../infra/postgres/server';

/** The parts of a compose service these checks read. */
interface ComposeService {
  readonly image?: string;
  readonly build?: unknown;
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly healthcheck?: { readonly test: readonly string[] };
}

const ROOT = path.resolve(__dirname, '..', '..');
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly [key: string]: unknown;
};
// docker-compose.yml is the stack with its defaults: SHOP_* variables of the shell running the
// tests must not change what it is held to.
// The light stack's, whatever runs here: compose runs one Kafka node and one server per database.
const config = loadStackConfig({ SHOP_HA: '0' });

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

function environment(name: string): Readonly<Record<string, string>> {
  return service(name).environment ?? {};
}

/** `[ip:]host:container` port mappings, as numbers. */
function published(name: string): { ip: string; host: number; container: number }[] {
  return (service(name).ports ?? []).map((mapping) => {
    const parts = mapping.split(':');
    const [container, host, ip] = [parts.pop(), parts.pop(), parts.join(':')];
    return { ip, host: Number(host), container: Number(container) };
  });
}

/** A port the stack has on 127.0.0.1, the same inside the container. */
const onLoopback = (port: number) => ({ ip: '127.0.0.1', host: port, container: port });

/** What compose makes of `${NAME:-default}` from the environment it runs in. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, fallback: string) => process.env[name] || fallback);
}

function optionOf(command: readonly string[] | undefined, flag: string): string | undefined {
  const at = command?.indexOf(flag) ?? -1;
  return at >= 0 ? command?.[at + 1] : undefined;
}

function imageVersion(name: string): string | undefined {
  return service(name).image?.split(':')[1];
}

/** `NAME://host:port,...` listener lists of Kafka's configuration, by listener name. */
function listeners(value: string | undefined): Record<string, string> {
  return Object.fromEntries((value ?? '').split(',').map((listener) => listener.split('://') as [string, string]));
}

describe('docker-compose.yml', () => {
  it('is plain compose spec, with no version key, publishing ports on 127.0.0.1 only as the local stack listens', () => {
    expect(compose).not.toHaveProperty('version');
    for (const name of Object.keys(compose.services)) {
      for (const mapping of published(name)) expect(mapping.ip).toBe('127.0.0.1');
    }
  });

  it('has a service for every component of the local stack and nothing else', () => {
    const expected = [
      ...databaseServers(config).map((server) => server.name),
      ...Object.values(COMPOSE_SERVICES),
      ...offlineInstances(config).map((instance) => instance.name),
    ];

    expect(Object.keys(compose.services).sort()).toEqual(expected.sort());
  });

  describe('PostgreSQL', () => {
    // The local stack's login scheme, read back through its own reader from a stand-in credentials file.
    const credentialsOf = (server: ReturnType<typeof databaseServers>[number]) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
      try {
        fs.mkdirSync(path.join(dataDir, 'postgres'));
        fs.writeFileSync(path.join(dataDir, 'postgres', `${server.name}.credentials.json`), JSON.stringify({ password: 'unused' }));
        return readCredentials(dataDir, server);
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    };

    it.each(databaseServers(config).map((server) => [server.name, server] as const))(
      '%s is its own server on its port, with its database and the local stack user',
      (name, server) => {
        const credentials = credentialsOf(server);

        expect(service(name).image).toMatch(/^postgres:/);
        expect(published(name)).toEqual([onLoopback(server.port)]);
        expect(environment(name)).toMatchObject({
          PGPORT: String(server.port),
          POSTGRES_DB: credentials.dbname,
          POSTGRES_USER: credentials.username,
        });
        expect(service(name).healthcheck).toBeDefined();
      },
    );

    it('takes the password from SHOP_POSTGRES_PASSWORD, the same for every server and for the setup that stores it', () => {
      const passwords = [...databaseServers(config).map((server) => server.name), COMPOSE_SERVICES.setup].map(
        (name) => environment(name).POSTGRES_PASSWORD,
      );

      expect(new Set(passwords)).toEqual(new Set([passwords[0]]));
      expect(passwords[0]).toMatch(/^\$\{SHOP_POSTGRES_PASSWORD:-[^}]+\}$/);
      expect(environment(COMPOSE_SERVICES.setup).POSTGRES_USER).toBe(environment(databaseServers(config)[0]!.name).POSTGRES_USER);
    });
  });

  describe('Kafka', () => {
    const kafka = COMPOSE_SERVICES.kafka;
    const env = () => environment(kafka);

    it('runs the version of infra/kafka/pom.xml', () => {
      const pom = fs.readFileSync(path.join(ROOT, 'infra', 'kafka', 'pom.xml'), 'utf8');

      expect(service(kafka).image).toMatch(/^apache\/kafka:/);
      expect(imageVersion(kafka)).toBe(/<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]);
    });

    it("publishes the stack's broker and controller ports", () => {
      expect(published(kafka)).toEqual([onLoopback(config.ports.kafka), onLoopback(config.ports.kafkaController)]);
    });

    it('advertises the address the host uses and the one the containers use, each on a listener of its port', () => {
      const advertised = Object.values(listeners(env().KAFKA_ADVERTISED_LISTENERS));
      const bound = listeners(env().KAFKA_LISTENERS);

      expect(advertised.sort()).toEqual([stackAddresses(config).kafkaBootstrap, composeAddresses(config).kafkaBootstrap].sort());
      for (const [name, address] of Object.entries(listeners(env().KAFKA_ADVERTISED_LISTENERS))) {
        expect(bound[name]?.split(':')[1]).toBe(address.split(':')[1]);
      }
      expect(
        Object.values(bound)
          .map((address) => Number(address.split(':')[1]))
          .sort(),
      ).toEqual([config.ports.kafka, config.ports.kafkaController, KAFKA_CONTAINER_PORT].sort());
    });

    it("runs its controller on the stack's controller port", () => {
      const controller = env().KAFKA_CONTROLLER_LISTENER_NAMES ?? '';

      expect(listeners(env().KAFKA_LISTENERS)[controller]).toBe(`0.0.0.0:${config.ports.kafkaController}`);
      expect(env().KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(new RegExp(`^1@[^:]+:${config.ports.kafkaController}$`));
    });

    it("gives topics the stack's partition count", () => {
      expect(env().KAFKA_NUM_PARTITIONS).toBe(String(config.kafkaPartitions));
      expect(env().KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    });
  });

  describe('Secrets Manager', () => {
    const secrets = COMPOSE_SERVICES.secrets;

    it('runs the moto of infra/secrets/requirements.txt', () => {
      const requirements = fs.readFileSync(path.join(ROOT, 'infra', 'secrets', 'requirements.txt'), 'utf8');

      expect(service(secrets).image).toMatch(/^motoserver\/moto:/);
      expect(imageVersion(secrets)).toBe(/^moto\[server\]==(\S+)$/m.exec(requirements)?.[1]);
    });

    it("serves on the stack's secrets port", () => {
      expect(optionOf(service(secrets).command, '-p')).toBe(String(config.ports.secrets));
      expect(published(secrets)).toEqual([onLoopback(Number(new URL(stackAddresses(config).secretsEndpoint).port))]);
      expect(service(secrets).healthcheck?.test.join(' ')).toContain(String(config.ports.secrets));
    });
  });

  describe('gateway', () => {
    const gateway = COMPOSE_SERVICES.gateway;

    it("is published on the port of the stack's gateway URL", () => {
      expect(published(gateway)).toEqual([onLoopback(Number(new URL(stackAddresses(config).gatewayUrl).port))]);
    });

    it('reads the configuration the setup writes, which reaches every instance by its service name', () => {
      const setupFile = environment(COMPOSE_SERVICES.setup).SHOP_GATEWAY_CONFIG_FILE ?? '';
      const [setupVolume, setupDir] = (service(COMPOSE_SERVICES.setup).volumes ?? [''])[0]!.split(':');
      const [gatewayVolume, gatewayDir] = (service(gateway).volumes ?? [''])[0]!.split(':');
      const rendered = composeGatewayConfig(config);

      expect(gatewayVolume).toBe(setupVolume);
      expect(path.dirname(setupFile)).toBe(setupDir);
      expect(service(gateway).command?.join(' ')).toContain(`-c ${gatewayDir}/${path.basename(setupFile)}`);
      expect(rendered).toMatch(new RegExp(`listen 0\\.0\\.0\\.0:${config.ports.gateway} `));
      for (const instance of offlineInstances(config)) expect(rendered).toContain(`server ${instance.name}:${instance.httpPort} `);
      expect(rendered).not.toContain('127.0.0.1');
    });
  });

  describe('functions', () => {
    it.each(offlineInstances(config).map((instance) => [instance.name, instance] as const))(
      '%s runs serverless-offline on its ports, as the local stack starts it',
      (name, instance) => {
        const command = service(name).command ?? [];

        expect(command.slice(0, 4)).toEqual(['node', 'node_modules/serverless/bin/serverless.js', 'offline', 'start']);
        expect(optionOf(command, '--stage')).toBe(config.stage);
        expect(optionOf(command, '--httpPort')).toBe(String(instance.httpPort));
        expect(optionOf(command, '--lambdaPort')).toBe(String(instance.lambdaPort));
        expect(optionOf(command, '--websocketPort')).toBe(String(instance.websocketPort));
        expect(optionOf(command, '--albPort')).toBe(String(instance.albPort));
        expect(published(name)).toEqual([onLoopback(instance.httpPort), onLoopback(instance.lambdaPort)]);
        expect(service(name).healthcheck?.test.slice(-2)).toEqual([String(instance.httpPort), String(instance.lambdaPort)]);
      },
    );

    it.each(offlineInstances(config).map((instance) => [instance.name, instance] as const))(
      "%s has the local stack's environment, with the containers' addresses",
      (name, instance) => {
        const addresses = composeAddresses(config);
        const values = Object.fromEntries(Object.entries(environment(name)).map(([key, value]) => [key, interpolate(String(value))]));

        expect(values).toEqual({
          ...functionEnvironment(config),
          AWS_ENDPOINT_URL_SECRETS_MANAGER: addresses.secretsEndpoint,
          SHOP_KAFKA_BROKERS: addresses.kafkaBootstrap,
          SHOP_GATEWAY_URL: addresses.gatewayUrl,
          SHOP_INSTANCE: instance.name,
          SHOP_ESBUILD_WORK_FOLDER: `.esbuild/${instance.name}`,
        });
      },
    );
  });

  describe('start order', () => {
    it('runs the setup once every server is healthy', () => {
      const servers = [...databaseServers(config).map((server) => server.name), COMPOSE_SERVICES.kafka, COMPOSE_SERVICES.secrets];

      expect(service(COMPOSE_SERVICES.setup).depends_on).toEqual(
        Object.fromEntries(servers.map((name) => [name, { condition: 'service_healthy' }])),
      );
      for (const name of servers) expect(service(name).healthcheck).toBeDefined();
      expect(service(COMPOSE_SERVICES.setup).command).toEqual(['npx', 'tsx', 'infra/docker/setup.ts']);
    });

    it('starts the functions after the setup has completed, and the gateway after the functions are up', () => {
      const instances = offlineInstances(config).map((instance) => instance.name);

      for (const name of instances) {
        expect(service(name).depends_on?.[COMPOSE_SERVICES.setup]).toEqual({ condition: 'service_completed_successfully' });
      }
      expect(service(COMPOSE_SERVICES.gateway).depends_on).toEqual({
        [COMPOSE_SERVICES.setup]: { condition: 'service_completed_successfully' },
        ...Object.fromEntries(instances.map((name) => [name, { condition: 'service_healthy' }])),
      });
    });

    it('names files that exist', () => {
      const files = [
        service(COMPOSE_SERVICES.setup).command?.[2],
        ...offlineInstances(config).flatMap((instance) => [
          service(instance.name).command?.[1],
          service(instance.name).healthcheck?.test[2],
        ]),
      ];

      for (const file of files) expect(fs.existsSync(path.join(ROOT, file ?? 'missing'))).toBe(true);
    });
  });
});
