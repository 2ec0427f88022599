import fs from 'node:fs';
import path from 'node:path';
import type { StackConfig } from '../config';
import { renderTemplate } from '../gateway/nginx';
import { offlineInstances } from '../offline/instances';

const TEMPLATE = path.join(__dirname, '..', '..', 'nginx', 'gateway.conf.template');

/** Folders the nginx image already has; docker-compose.yml links the error log to stderr. */
const NGINX_RUN_DIR = '/var/cache/nginx';
const NGINX_LOG_DIR = '/var/log/nginx';

/**
 * The gateway's configuration for the gateway container: the project's template, with every
 * function instance reached by its service name instead of 127.0.0.1.
 */
export function composeGatewayConfig(config: StackConfig, template = fs.readFileSync(TEMPLATE, 'utf8')): string {
  return renderTemplate(template, {
    RUN_DIR: NGINX_RUN_DIR,
    LOG_DIR: NGINX_LOG_DIR,
    WORKER_PROCESSES: 2,
    // A container's published port arrives on the container's own interface, not on loopback.
    LISTEN_ADDRESS: '0.0.0.0',
    GATEWAY_PORT: config.ports.gateway,
    INSTANCES: config.instances,
    UPSTREAM_SERVERS: offlineInstances(config)
      .map((instance) => `    server ${instance.name}:${instance.httpPort} max_fails=3 fail_timeout=2s;`)
      .join('\n'),
  });
}
