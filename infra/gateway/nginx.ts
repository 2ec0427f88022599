import fs from 'node:fs';
import path from 'node:path';
import type { StackConfig } from '../config';
import { type OfflineInstance, offlineInstances } from '../offline/instances';
import { type ProcessRegistry, portIsOpen, run, waitFor } from '../processes/processes';

const TEMPLATE = path.join(__dirname, '..', '..', 'nginx', 'gateway.conf.template');
const PROCESS_NAME = 'nginx';

/** Fills the template's {{NAME}} placeholders; a placeholder left unfilled is an error. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    return String(value);
  });
}

/** Where a rendering of the gateway's configuration runs: its folders, its address, how it reaches an instance. */
export interface GatewayPlacement {
  readonly runDir: string;
  readonly logDir: string;
  readonly listenAddress: string;
  readonly hostOf: (instance: OfflineInstance) => string;
  /** How many instances it lists: every one the stack may scale to, or just those it has. */
  readonly slots: number;
}

/** The most instances `npm run scale` may run (and `SHOP_INSTANCES` may ask for). */
export const MAX_INSTANCES = 16;

/** The gateway's configuration: the project's template, one upstream server per serverless-offline instance. */
export function renderGatewayConfig(
  config: StackConfig,
  placement: GatewayPlacement,
  template = fs.readFileSync(TEMPLATE, 'utf8'),
): string {
  return renderTemplate(template, {
    RUN_DIR: placement.runDir,
    LOG_DIR: placement.logDir,
    WORKER_PROCESSES: 2,
    LISTEN_ADDRESS: placement.listenAddress,
    GATEWAY_PORT: config.ports.gateway,
    INSTANCES: placement.slots,
    UPSTREAM_SERVERS: offlineInstances({ ...config, instances: placement.slots })
      .map(
        (instance) => `    server ${placement.hostOf(instance)}:${instance.httpPort} ${failureBounds(instance.index < config.instances)};`,
      )
      .join('\n'),
  });
}

/**
 * When NGINX passes a slot over after failed connects, and for how long. A slot the stack starts
 * an instance in gets 3 tries in 2 s, so a restarted instance is back within 2 s. A spare slot
 * (there for `npm run scale`) refuses every try until an instance runs in it, each refusal a line
 * in the error log, so it is tried only once every 10 s (docs/performance.md, 'Levers'). An
 * instance started in a spare slot gets its first requests at most 10 s after it is up.
 */
function failureBounds(startedWithTheStack: boolean): string {
  return startedWithTheStack ? 'max_fails=3 fail_timeout=2s' : 'max_fails=1 fail_timeout=10s';
}

/**
 * The gateway's configuration for this stack, on this machine's loopback. It lists every
 * instance the stack may scale to, so scaling never reloads NGINX (a reload closes clients' idle
 * connections, and a client that sends on one at that moment gets no reply): a slot with no
 * instance refuses the connection, and NGINX passes the request on, nothing having been sent.
 */
export function gatewayConfig(config: StackConfig, template?: string): string {
  const placement = {
    runDir: path.join(config.runDir, 'nginx'),
    logDir: path.join(config.runDir, 'logs'),
    listenAddress: '127.0.0.1',
    hostOf: () => '127.0.0.1',
    slots: MAX_INSTANCES,
  };
  return renderGatewayConfig(config, placement, template);
}

/** NGINX on the gateway port, in front of every serverless-offline instance. */
export class Gateway {
  private readonly configFile: string;

  constructor(
    private readonly config: StackConfig,
    private readonly nginx: string,
    private readonly processes: ProcessRegistry,
  ) {
    this.configFile = path.join(config.runDir, 'nginx', 'nginx.conf');
  }

  get url(): string {
    return `http://localhost:${this.config.ports.gateway}`;
  }

  async start(): Promise<void> {
    if (await portIsOpen(this.config.ports.gateway)) {
      throw new Error(`gateway: port ${this.config.ports.gateway} is taken by another program; set SHOP_GATEWAY_PORT`);
    }
    fs.mkdirSync(path.dirname(this.configFile), { recursive: true });
    fs.writeFileSync(this.configFile, gatewayConfig(this.config));
    const args = ['-e', 'stderr', '-p', path.dirname(this.configFile), '-c', this.configFile];
    await run(this.nginx, [...args, '-t']);
    const pid = this.processes.start(PROCESS_NAME, this.nginx, args);
    await waitFor('nginx', () => portIsOpen(this.config.ports.gateway), { pid, log: this.processes.logFile(PROCESS_NAME) });
  }
}
