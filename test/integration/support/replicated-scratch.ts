import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadStackConfig, type StackConfig } from '../../../infra/config';

/**
 * The replicated stack's configuration for a test file's own cluster: its data and pid files in
 * a temporary folder of its own (`dir`, removed by the file), its ports as `ports` sets them, so
 * that it runs beside whatever stack runs on this machine.
 */
export function replicatedScratch(name: string, ports: Readonly<Record<string, string>>): { dir: string; config: StackConfig } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  const config = loadStackConfig({
    ...process.env,
    SHOP_HA: '1',
    SHOP_DATA_DIR: path.join(dir, 'data'),
    SHOP_RUN_DIR: path.join(dir, 'run'),
    ...ports,
  });
  return { dir, config };
}
