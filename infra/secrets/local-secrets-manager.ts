import fs from 'node:fs';
import path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type StackConfig, stackAddresses } from '../config';
import { type ProcessRegistry, portIsOpen, run, waitFor } from '../processes/processes';
import type { Progress } from '../processes/progress';
import { putSecret } from './put-secret';

const PROCESS_NAME = 'secrets-manager';
const REQUIREMENTS = path.join(__dirname, 'requirements.txt');

/**
 * AWS credentials for the local endpoints only: moto accepts any, and they must never be real
 * ones, so they are fixed here rather than taken from the developer's environment.
 */
export const LOCAL_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_REGION: 'us-east-1',
} as const;

/** A Secrets Manager client for the local one (moto), which takes any credentials. */
export function localSecretsClient(endpoint: string): SecretsManagerClient {
  return new SecretsManagerClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
  });
}

/** moto in server mode, standing in for AWS Secrets Manager on 127.0.0.1. */
export class LocalSecretsManager {
  private readonly venv: string;

  constructor(
    private readonly config: StackConfig,
    private readonly python: string,
    private readonly processes: ProcessRegistry,
    private readonly progress: Progress,
  ) {
    this.venv = path.join(config.root, '.venv');
  }

  get endpoint(): string {
    return stackAddresses(this.config).secretsEndpoint;
  }

  /** Creates the project's venv with moto the first time, or when requirements.txt changes. */
  async install(): Promise<void> {
    const marker = path.join(this.venv, '.requirements-installed');
    const wanted = fs.readFileSync(REQUIREMENTS, 'utf8');
    if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === wanted) return;
    this.progress.step('secrets: installing moto[server] into .venv with pip (first start only)');
    if (!fs.existsSync(path.join(this.venv, 'bin', 'pip'))) await run(this.python, ['-m', 'venv', this.venv]);
    await run(path.join(this.venv, 'bin', 'pip'), ['install', '-q', '--disable-pip-version-check', '-r', REQUIREMENTS]);
    fs.writeFileSync(marker, wanted);
  }

  async start(): Promise<void> {
    await this.install();
    if (await portIsOpen(this.config.ports.secrets)) {
      throw new Error(`secrets: port ${this.config.ports.secrets} is taken by another program; set SHOP_SECRETS_PORT`);
    }
    const pid = this.processes.start(PROCESS_NAME, path.join(this.venv, 'bin', 'moto_server'), [
      '-H',
      '127.0.0.1',
      '-p',
      String(this.config.ports.secrets),
    ]);
    await waitFor('secrets manager', () => portIsOpen(this.config.ports.secrets), {
      pid,
      log: this.processes.logFile(PROCESS_NAME),
    });
  }

  /** Stores (or replaces) one secret's JSON value, as an operator would on AWS. */
  async putSecret(name: string, value: unknown): Promise<void> {
    const client = localSecretsClient(this.endpoint);
    try {
      await putSecret(client, name, value);
    } finally {
      client.destroy();
    }
  }
}
