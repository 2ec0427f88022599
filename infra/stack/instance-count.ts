import fs from 'node:fs';
import path from 'node:path';
import type { StackConfig } from '../config';

/**
 * How many serverless-offline instances the running stack has: `SHOP_INSTANCES` at start, then
 * whatever `npm run scale` set. Kept in `.run/instances` so that the supervisor, the gateway and
 * the tools of another process (a test, the chaos command) all see the same number.
 */
const fileOf = (config: StackConfig) => path.join(config.runDir, 'instances');

export function writeInstanceCount(config: StackConfig, count: number): void {
  fs.mkdirSync(config.runDir, { recursive: true });
  fs.writeFileSync(fileOf(config), `${count}\n`);
}

export function forgetInstanceCount(config: StackConfig): void {
  fs.rmSync(fileOf(config), { force: true });
}

/** The configuration with the running stack's instance count (the configured one when none is running). */
export function liveConfig(config: StackConfig): StackConfig {
  try {
    const count = Number(fs.readFileSync(fileOf(config), 'utf8').trim());
    return Number.isInteger(count) && count >= 1 ? { ...config, instances: count } : config;
  } catch {
    return config;
  }
}
