import type { StackConfig } from '../config';
import { renderGatewayConfig } from '../gateway/nginx';

/** Folders the nginx image already has; docker-compose.yml links the error log to stderr. */
const NGINX_RUN_DIR = '/var/cache/nginx';
const NGINX_LOG_DIR = '/var/log/nginx';

/**
 * The gateway's configuration for the gateway container: the project's template, with every
 * function instance reached by its service name instead of 127.0.0.1.
 */
export function composeGatewayConfig(config: StackConfig, template?: string): string {
  return renderGatewayConfig(
    config,
    {
      runDir: NGINX_RUN_DIR,
      logDir: NGINX_LOG_DIR,
      // A container's published port arrives on the container's own interface, not on loopback.
      listenAddress: '0.0.0.0',
      hostOf: (instance) => instance.name,
      // The compose file runs a fixed set of instances: only those are listed.
      slots: config.instances,
    },
    template,
  );
}
