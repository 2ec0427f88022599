import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
const SERVERLESS = path.join(ROOT, 'node_modules/.bin/serverless');
/** Nothing listens on the discard port: any request that tried the network would fail. */
const NO_NETWORK = 'http://127.0.0.1:9';

export interface Template {
  // biome-ignore lint/suspicious/noExplicitAny: the tests walk CloudFormation's free-form properties by path
  Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: unknown }>;
}

export interface Packaged {
  readonly dir: string;
  readonly template: Template;
}

/**
 * Runs `serverless package --stage aws` the way a user without an AWS account would: no AWS
 * credentials or profile (a fresh HOME), every proxy pointing nowhere, no telemetry.
 */
export async function packageAws(params: Record<string, string> = {}): Promise<Packaged> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'shop-package-'));
  const dir = path.join(scratch, 'package');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: scratch,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_EC2_METADATA_DISABLED: 'true',
    HTTP_PROXY: NO_NETWORK,
    HTTPS_PROXY: NO_NETWORK,
    http_proxy: NO_NETWORK,
    https_proxy: NO_NETWORK,
    SHOP_ESBUILD_WORK_FOLDER: path.join(scratch, 'esbuild'),
  };
  const args = [
    'package',
    '--stage',
    'aws',
    '--package',
    dir,
    ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
  ];
  await promisify(execFile)(SERVERLESS, args, { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  const template = JSON.parse(fs.readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  return { dir, template };
}

/** `serverless package`'s error output, for parameters it must refuse. */
export async function packageAwsFails(params: Record<string, string>): Promise<string> {
  try {
    await packageAws(params);
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
  }
  throw new Error(`serverless package accepted ${JSON.stringify(params)}`);
}

export function resourcesOfType(template: Template, type: string) {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({ logicalId, ...resource }));
}

export function resourceById(template: Template, logicalId: string) {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`the template has no resource ${logicalId}`);
  return resource;
}
