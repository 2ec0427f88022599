import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { orderRoutes } from '../../functions/order/routes';
import { paymentRoutes } from '../../functions/payment/routes';
import { opsRoutes } from '../../functions/ops/routes';
import { stockRoutes } from '../../functions/stock/routes';
import { databaseSecretName } from '../../layers/db/secrets';
import { DEPLOYED_TOPICS } from '../../layers/kafka/topics';
import { type Packaged, packageAws, packageAwsFails, resourceById, resourcesOfType, type Template } from './cloudformation-package';

/** What each consumer must be given: its topic and the batch settings serverless.yml promises. */
const CONSUMERS = [
  { functionId: 'StockInstructionsLambdaFunction', topic: 'stock-instructions', group: 'shop-aws-stockInstructions' },
  { functionId: 'StockInstructionsLambdaFunction', topic: 'stock-instruction-retries', group: 'shop-aws-stockInstructions-retries' },
  { functionId: 'PaymentInstructionsLambdaFunction', topic: 'payment-instructions', group: 'shop-aws-paymentInstructions' },
  { functionId: 'PaymentInstructionsLambdaFunction', topic: 'payment-instruction-retries', group: 'shop-aws-paymentInstructions-retries' },
  { functionId: 'OrderResultsLambdaFunction', topic: 'transaction-results', group: 'shop-aws-orderResults' },
];
const BATCH = { BatchSize: 500, StartingPosition: 'TRIM_HORIZON', MaximumBatchingWindowInSeconds: 0 };

/** The network-interface actions Lambda needs for a VPC; EC2 cannot scope the Describe ones to a resource. */
const UNSCOPABLE = new Set([
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVpcs',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
]);
const ROLES = ['IamRoleLambdaExecution', 'SetupRole', 'OpsRole'];

const EXISTING = {
  infrastructure: 'existing',
  existingSubnetIds: 'subnet-0a1b2c3d,subnet-4e5f6a7b',
  existingSecurityGroupIds: 'sg-0123456789abcdef0',
  existingMskClusterArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/prod/6f1c9a2e-0000-4000-8000-1234567890ab-3',
};

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** The statements of one role: by default the one every function but `setup` runs with. */
function statements(template: Template, roleId = 'IamRoleLambdaExecution'): Statement[] {
  const role = resourceById(template, roleId);
  return role.Properties.Policies.flatMap((policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement);
}

const actionsOf = (statement: Statement) => [statement.Action].flat();
const resourcesOf = (statement: Statement) => [statement.Resource].flat();
const grantsFor = (template: Template, action: string, roleId?: string) =>
  statements(template, roleId)
    .filter((s) => actionsOf(s).includes(action))
    .flatMap(resourcesOf);

function functionsOf(template: Template) {
  return resourcesOfType(template, 'AWS::Lambda::Function');
}

function environmentOf(template: Template, functionId: string): Record<string, unknown> {
  return resourceById(template, functionId).Properties.Environment.Variables;
}

/** Every string anywhere in the template. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsOf);
  return [];
}

describe('serverless package --stage aws, creating the infrastructure', () => {
  let packaged: Packaged;
  let template: Template;

  beforeAll(async () => {
    packaged = await packageAws();
    template = packaged.template;
  }, 180_000);

  it('maps each consumer to its topic on the created MSK cluster, with its batch settings and a named consumer group', () => {
    const mappings = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(CONSUMERS.length);
    for (const { functionId, topic, group } of CONSUMERS) {
      const [mapping, ...more] = mappings.filter(
        (m) => m.Properties.FunctionName['Fn::GetAtt'][0] === functionId && m.Properties.Topics[0] === topic,
      );
      expect(more).toEqual([]);
      if (!mapping) throw new Error(`no event source mapping for ${functionId}`);
      expect(mapping.Properties).toMatchObject({ ...BATCH, Topics: [topic], EventSourceArn: { Ref: 'KafkaCluster' } });
      expect(mapping.Properties.AmazonManagedKafkaEventSourceConfig.ConsumerGroupId).toBe(group);
    }
  });

  it('runs the resolver and each participant’s retention every minute', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    expect(rules.map((rule) => rule.Properties.ScheduleExpression)).toEqual(['rate(1 minute)', 'rate(1 minute)', 'rate(1 minute)']);
    const targets = rules.flatMap((rule) =>
      rule.Properties.Targets.map((target: { Arn: { 'Fn::GetAtt': [string, string] } }) => target.Arn['Fn::GetAtt'][0]),
    );
    expect(targets.sort()).toEqual(['PaymentRetentionLambdaFunction', 'ResolverLambdaFunction', 'StockRetentionLambdaFunction']);
  });

  it('routes every path the handlers serve, each to its own service', () => {
    const integrationOf = (routeKey: string) =>
      resourcesOfType(template, 'AWS::ApiGatewayV2::Route').find((route) => route.Properties.RouteKey === routeKey)?.Properties.Target[
        'Fn::Join'
      ][1][1].Ref;
    const served = [
      ...Object.keys(orderRoutes).map((key) => [key, 'HttpApiIntegrationOrderApi'] as const),
      ...Object.keys(paymentRoutes).map((key) => [key, 'HttpApiIntegrationPaymentApi'] as const),
      ...Object.keys(stockRoutes).map((key) => [key, 'HttpApiIntegrationStockApi'] as const),
      ...Object.keys(opsRoutes).map((key) => [key, 'HttpApiIntegrationOps'] as const),
      ['GET /health', 'HttpApiIntegrationHealth'] as const,
    ];
    expect(served.map(([key]) => [key, integrationOf(key)])).toEqual(served);
    expect(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).toHaveLength(served.length);
  });

  it('runs every function on Node.js 24, the one the tests run on, arm64, inside the private subnets', () => {
    for (const fn of functionsOf(template)) {
      expect([fn.logicalId, fn.Properties.Runtime]).toEqual([fn.logicalId, 'nodejs24.x']);
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.VpcConfig.SubnetIds).toEqual([{ Ref: 'PrivateSubnetA' }, { Ref: 'PrivateSubnetB' }, { Ref: 'PrivateSubnetC' }]);
    }
    expect(functionsOf(template).map((fn) => fn.logicalId)).not.toContain('KafkaProbeLambdaFunction');
  });

  it('grants nothing on "*" but the VPC network-interface actions, and no wildcard actions', () => {
    for (const statement of ROLES.flatMap((role) => statements(template, role))) {
      expect(actionsOf(statement).filter((action) => action.includes('*'))).toEqual([]);
      if (
        resourcesOf(statement).some(
          (resource) => typeof resource === 'string' && resource.includes('*') && !resource.includes(':log-group:'),
        )
      ) {
        expect(actionsOf(statement).filter((action) => !UNSCOPABLE.has(action))).toEqual([]);
      }
    }
    for (const role of ROLES) {
      const written = statements(template, role).map((statement) => JSON.stringify(statement));
      expect(new Set(written).size).toBe(written.length);
    }
    const managed = resourceById(template, 'IamRoleLambdaExecution').Properties.ManagedPolicyArns.map((arn: unknown) =>
      JSON.stringify(arn),
    );
    expect(managed).toEqual([expect.stringContaining('AWSLambdaVPCAccessExecutionRole')]);
  });

  it('lets the functions read exactly the secrets of their shards, those of shards added later and the slot maps, named as the functions look them up', () => {
    const secrets = resourcesOfType(template, 'AWS::SecretsManager::Secret').filter((secret) => secret.logicalId !== 'OpsTokenSecret');
    const byName = (name: string) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:shop/aws/${name}`,
    });
    expect(grantsFor(template, 'secretsmanager:GetSecretValue')).toEqual([
      ...secrets.map((secret) => ({ Ref: secret.logicalId })),
      byName('db/*'),
      byName('slots/*'),
    ]);
    const env = environmentOf(template, 'OrderApiLambdaFunction');
    const expected = (['order', 'stock', 'payment'] as const).flatMap((service) =>
      Array.from({ length: Number(env[`${service.toUpperCase()}_SHARDS`]) }, (_, shard) =>
        databaseSecretName(String(env.SECRET_PREFIX), service, shard),
      ),
    );
    expect(secrets.map((secret) => secret.Properties.Name)).toEqual(expected);
    expect(resourcesOfType(template, 'AWS::RDS::DBInstance')).toHaveLength(expected.length);
  });

  it('replicates every stateful part across zones: each shard a Multi-AZ instance, three brokers in three zones, every topic on three, two in sync to acknowledge', () => {
    for (const database of resourcesOfType(template, 'AWS::RDS::DBInstance')) expect(database.Properties.MultiAZ).toBe(true);
    const cluster = resourceById(template, 'KafkaCluster');
    const subnets = cluster.Properties.BrokerNodeGroupInfo.ClientSubnets as { Ref: string }[];
    expect(cluster.Properties.NumberOfBrokerNodes).toBe(3);
    const zones = subnets.map(({ Ref }) => JSON.stringify(resourceById(template, Ref).Properties.AvailabilityZone));
    expect(new Set(zones).size).toBe(3);
    expect(cluster.Properties.ConfigurationInfo.Arn).toEqual({ 'Fn::GetAtt': ['KafkaConfiguration', 'Arn'] });
    const properties = String(resourceById(template, 'KafkaConfiguration').Properties.ServerProperties).split('\n');
    expect(properties).toEqual(
      expect.arrayContaining(['default.replication.factor=3', 'min.insync.replicas=2', 'unclean.leader.election.enable=false']),
    );
  });

  it('scopes every Kafka grant to the cluster, its topics and the mappings consumer groups', () => {
    const kafkaGrants = ROLES.flatMap((role) => statements(template, role)).filter((s) =>
      actionsOf(s).some((action) => action.startsWith('kafka')),
    );
    for (const resource of kafkaGrants.flatMap(resourcesOf)) expect(JSON.stringify(resource)).toContain('{"Ref":"KafkaCluster"}');
    const groups = grantsFor(template, 'kafka-cluster:AlterGroup').map((resource) => JSON.stringify(resource));
    for (const { topic, group } of CONSUMERS) {
      expect(groups.filter((arn) => arn.includes(`:group/`) && arn.includes(`/${group}"`))).toHaveLength(1);
      expect(
        grantsFor(template, 'kafka-cluster:ReadData')
          .map((r) => JSON.stringify(r))
          .filter((r) => r.includes(`/${topic}"`)),
      ).toHaveLength(1);
    }
    expect(environmentOf(template, 'OrderApiLambdaFunction').KAFKA_CLUSTER_ARN).toEqual({ Ref: 'KafkaCluster' });
  });

  it('lets only the setup function, with a role of its own, create and grow topics', () => {
    expect(resourceById(template, 'SetupLambdaFunction').Properties.Role).toEqual({ 'Fn::GetAtt': ['SetupRole', 'Arn'] });
    for (const fn of functionsOf(template).filter((fn) => !['SetupLambdaFunction', 'OpsLambdaFunction'].includes(fn.logicalId))) {
      expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] });
    }
    for (const action of ['kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic']) {
      expect(grantsFor(template, action)).toEqual([]);
      expect(grantsFor(template, action, 'SetupRole')).toHaveLength(DEPLOYED_TOPICS.length);
    }
    expect(grantsFor(template, 'kafka-cluster:ReadData', 'SetupRole')).toEqual([]);
    expect(grantsFor(template, 'secretsmanager:GetSecretValue', 'SetupRole')).toEqual(grantsFor(template, 'secretsmanager:GetSecretValue'));
  });

  it('bounds every function that opens connections so a shard never gets more logins than its max_connections allows', () => {
    const reserved = (logicalId: string) => resourceById(template, logicalId).Properties.ReservedConcurrentExecutions as number;
    const partitions = 8;
    const allowed = Math.floor((80 - 10) / 2);
    // Consumers: one invocation per partition per mapping (Lambda's own bound); the others reserved.
    expect(reserved('OrderApiLambdaFunction') + partitions + reserved('ResolverLambdaFunction') + reserved('OpsLambdaFunction')).toBe(
      allowed,
    );
    for (const service of ['Stock', 'Payment']) {
      expect(
        reserved(`${service}ApiLambdaFunction`) +
          2 * partitions +
          reserved(`${service}RetentionLambdaFunction`) +
          reserved('OpsLambdaFunction'),
      ).toBe(allowed);
    }
    expect(reserved('OrderApiLambdaFunction')).toBeGreaterThan(0);
  });

  it('alarms on dead letters, on transactions left undecided, and on the lag of every Kafka-triggered function; metrics are emitted on every function', () => {
    for (const fn of functionsOf(template))
      expect(environmentOf(template, fn.logicalId)).toMatchObject({ POWERTOOLS_METRICS_DISABLED: 'false', STAGE: 'aws' });
    // The dimensions the functions' metrics carry: Powertools' `service` and the stage (layers/logging/metrics.ts).
    const env = environmentOf(template, 'ResolverLambdaFunction');
    const shop = {
      Namespace: 'Shop',
      Dimensions: [
        { Name: 'service', Value: env.POWERTOOLS_SERVICE_NAME },
        { Name: 'stage', Value: env.STAGE },
      ],
      ComparisonOperator: 'GreaterThanThreshold',
    };
    const alarm = (logicalId: string) => {
      const resource = resourceById(template, logicalId);
      expect(resource.Type).toBe('AWS::CloudWatch::Alarm');
      return resource.Properties;
    };
    expect(alarm('DeadLettersAlarm')).toMatchObject({
      ...shop,
      MetricName: 'DeadLetters',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
    const twoMinutes = { Period: 60, EvaluationPeriods: 2, DatapointsToAlarm: 2 };
    expect(alarm('UndecidedPastDeadlineAlarm')).toMatchObject({
      ...shop,
      ...twoMinutes,
      MetricName: 'UndecidedPastDeadline',
      Statistic: 'Sum',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
    // Three checkout timeouts (checkoutTimeoutMs=5000); a resolver that reports nothing is as bad as one that aborts nothing.
    expect(alarm('OldestUndecidedAgeAlarm')).toMatchObject({
      ...shop,
      ...twoMinutes,
      MetricName: 'OldestUndecidedAgeMs',
      Statistic: 'Maximum',
      Threshold: 15_000,
      TreatMissingData: 'breaching',
    });

    // Every function an event source mapping triggers, however many topics it reads: a new consumer without an alarm fails here.
    const consumers = [
      ...new Set(
        resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').map(
          (mapping) => mapping.Properties.FunctionName['Fn::GetAtt'][0] as string,
        ),
      ),
    ];
    const lagAlarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(
      (resource) => resource.Properties.MetricName === 'OffsetLag',
    );
    expect(
      lagAlarms.map((resource) => resource.Properties.Dimensions).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual(consumers.sort().map((functionId) => [{ Name: 'FunctionName', Value: { Ref: functionId } }]));
    for (const { Properties } of lagAlarms) {
      expect(Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
        Threshold: 1000,
        TreatMissingData: 'notBreaching',
      });
    }
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(3 + consumers.length);
    // No `alarmTopicArn`: the alarms only change state.
    for (const { Properties } of alarms) expect([Properties.AlarmActions, Properties.OKActions]).toEqual([undefined, undefined]);
    expect(new Set(alarms.map(({ Properties }) => Properties.AlarmName)).size).toBe(alarms.length);
  });

  it('protects the live view: its function alone reads its generated token, and only reads Kafka', () => {
    const ops = resourceById(template, 'OpsLambdaFunction');
    expect(ops.Properties.Role).toEqual({ 'Fn::GetAtt': ['OpsRole', 'Arn'] });
    expect(environmentOf(template, 'OpsLambdaFunction').OPS_TOKEN_SECRET).toBe(resourceById(template, 'OpsTokenSecret').Properties.Name);
    expect(resourceById(template, 'OpsTokenSecret').Properties.GenerateSecretString).toMatchObject({ PasswordLength: 48 });
    expect(grantsFor(template, 'secretsmanager:GetSecretValue', 'OpsRole')).toContainEqual({ Ref: 'OpsTokenSecret' });
    for (const role of ['IamRoleLambdaExecution', 'SetupRole'])
      expect(grantsFor(template, 'secretsmanager:GetSecretValue', role)).not.toContainEqual({ Ref: 'OpsTokenSecret' });
    for (const action of ['kafka-cluster:WriteData', 'kafka-cluster:CreateTopic', 'kafka-cluster:AlterTopic'])
      expect(grantsFor(template, action, 'OpsRole')).toEqual([]);
    expect(grantsFor(template, 'kafka-cluster:ReadData', 'OpsRole').map((r) => JSON.stringify(r))).toEqual([
      expect.stringContaining('/dead-letters"'),
    ]);
    expect(grantsFor(template, 'kafka-cluster:AlterGroup', 'OpsRole').map((r) => JSON.stringify(r))).toEqual([
      expect.stringContaining('-ops-dead-letters-*"'),
    ]);
  });

  it('holds no secret value: passwords are generated by Secrets Manager and reach RDS by dynamic reference', () => {
    for (const secret of resourcesOfType(template, 'AWS::SecretsManager::Secret')) {
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.GenerateSecretString).toBeDefined();
      if (secret.logicalId === 'OpsTokenSecret') continue;
      expect(JSON.parse(secret.Properties.GenerateSecretString.SecretStringTemplate)).not.toHaveProperty('password');
    }
    for (const database of resourcesOfType(template, 'AWS::RDS::DBInstance')) {
      expect(database.Properties.MasterUserPassword['Fn::Sub']).toMatch(/^\{\{resolve:secretsmanager:\$\{\w+\}:SecretString:password\}\}$/);
    }
    const mentions = stringsOf(template).filter((text) => /passw/i.test(text));
    expect(mentions.filter((text) => text !== 'password' && !text.startsWith('{{resolve:secretsmanager:'))).toEqual([]);
  });

  it('packs the schema migrations with the setup function', () => {
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', path.join(packaged.dir, 'setup.zip')], { encoding: 'utf8' });
    for (const service of ['order', 'stock', 'payment']) expect(listing).toContain(`infra/postgres/migrations/${service}/001_`);
    expect(listing).toContain('infra/postgres/migrations/shared.json');
    expect(listing).toContain('infra/postgres/migrations/shared/bounded_locks.sql');
  });

  it('runs the setup during the deploy, once the databases, the cluster and the route out exist, before any mapping', () => {
    const run = resourceById(template, 'SetupRun');
    expect(run.Type).toBe('Custom::Setup');
    expect(run.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': ['SetupLambdaFunction', 'Arn'] });
    const waitsFor = [run.DependsOn].flat();
    for (const { logicalId } of resourcesOfType(template, 'AWS::SecretsManager::SecretTargetAttachment'))
      expect(waitsFor).toContain(logicalId);
    expect(waitsFor).toEqual(expect.arrayContaining(['KafkaCluster', 'PrivateDefaultRoute']));
    for (const mapping of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping'))
      expect([mapping.DependsOn].flat()).toContain('SetupRun');
  });

  it('hands every function but the setup the MSK bootstrap brokers the setup run answers, and packs the MSK client into the setup alone', () => {
    const functions = functionsOf(template);
    for (const { logicalId } of functions) {
      const brokers = environmentOf(template, logicalId).KAFKA_BROKERS;
      if (logicalId === 'SetupLambdaFunction') expect(brokers).toBe('');
      else expect([logicalId, brokers]).toEqual([logicalId, { 'Fn::GetAtt': ['SetupRun', 'BootstrapBrokers'] }]);
    }
    const bundlesWithMskClient = fs
      .readdirSync(packaged.dir)
      .filter((file) => file.endsWith('.zip'))
      .filter((zip) => {
        const script =
          'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(any(b"GetBootstrapBrokersCommand" in z.read(n) for n in z.namelist() if n.endswith(".js")))';
        return execFileSync('python3', ['-c', script, path.join(packaged.dir, zip)], { encoding: 'utf8' }).trim() === 'True';
      });
    expect(bundlesWithMskClient).toEqual(['setup.zip']);
  });
});

const ALARM_TOPIC = 'arn:aws:sns:us-east-1:123456789012:shop-operators';

describe('serverless package --stage aws, on existing infrastructure', () => {
  let template: Template;

  beforeAll(async () => {
    ({ template } = await packageAws({ ...EXISTING, alarmTopicArn: ALARM_TOPIC, offsetLagAlarmThreshold: '250' }));
  }, 180_000);

  it('keeps the alarms, notifying the given SNS topic when they fire and when they clear, at the given lag', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm');
    expect(alarms.map((alarm) => alarm.logicalId)).toEqual(
      expect.arrayContaining(['DeadLettersAlarm', 'UndecidedPastDeadlineAlarm', 'OldestUndecidedAgeAlarm']),
    );
    for (const { Properties } of alarms) expect(Properties).toMatchObject({ AlarmActions: [ALARM_TOPIC], OKActions: [ALARM_TOPIC] });
    expect(alarms.filter((alarm) => alarm.Properties.MetricName === 'OffsetLag').map((alarm) => alarm.Properties.Threshold)).toEqual([
      250, 250, 250,
    ]);
  });

  it("creates no network, cluster, database or database secret (only the live view's own token), and still runs the setup before the mappings", () => {
    const created = Object.entries(template.Resources)
      .filter(([logicalId]) => logicalId !== 'OpsTokenSecret')
      .map(([, resource]) => resource.Type.split('::')[1] ?? resource.Type);
    expect(created.filter((service) => ['EC2', 'MSK', 'RDS', 'SecretsManager'].includes(service))).toEqual([]);
    expect(resourceById(template, 'SetupRun').Type).toBe('Custom::Setup');
    for (const mapping of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping'))
      expect([mapping.DependsOn].flat()).toContain('SetupRun');
  });

  it('runs the functions in the given subnets and consumes from the given cluster', () => {
    for (const fn of functionsOf(template)) {
      expect(fn.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      });
    }
    for (const mapping of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
      expect(mapping.Properties.EventSourceArn).toBe(EXISTING.existingMskClusterArn);
    }
  });

  it('grants the secrets by their names and the topics by their ARNs', () => {
    expect(grantsFor(template, 'secretsmanager:GetSecretValue')).toContainEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's own substitution syntax
      'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:shop/aws/db/order-0-??????',
    });
    expect(grantsFor(template, 'kafka-cluster:ReadData')).toContain(
      'arn:aws:kafka:us-east-1:123456789012:topic/prod/6f1c9a2e-0000-4000-8000-1234567890ab-3/stock-instructions',
    );
  });
});

describe('serverless package --stage aws refuses bad parameters, naming them', () => {
  it('an unknown infrastructure mode', async () => {
    expect(await packageAwsFails({ infrastructure: 'maybe' })).toContain('parameter infrastructure=maybe must be create or existing');
  }, 60_000);

  it('existing infrastructure without a cluster', async () => {
    expect(await packageAwsFails({ ...EXISTING, existingMskClusterArn: 'my-cluster' })).toContain(
      'parameter existingMskClusterArn=my-cluster is not an MSK cluster ARN',
    );
  }, 60_000);

  it('a database too small for the functions that may connect to it at once', async () => {
    expect(await packageAwsFails({ databaseMaxConnections: '40' })).toContain(
      'parameter databaseMaxConnections=40 leaves the stock API no connections',
    );
  }, 60_000);

  it('a Multi-AZ setting that is neither true nor false', async () => {
    expect(await packageAwsFails({ databaseMultiAz: 'maybe' })).toContain('parameter databaseMultiAz=maybe is neither true nor false');
  }, 60_000);

  it('a resolver run longer than its schedule allows', async () => {
    expect(await packageAwsFails({ resolverRunMs: '90000' })).toContain(
      'parameter resolverRunMs=90000 is not a whole number from 0 to 60000',
    );
  }, 60_000);

  it('a checkout wait that would outlast the function', async () => {
    expect(await packageAwsFails({ checkoutTimeoutMs: '20000' })).toContain(
      'parameter checkoutTimeoutMs=20000 is not a whole number from 100 to 12000',
    );
  }, 60_000);

  it('a retention window too short to refuse a late Prepare first', async () => {
    expect(await packageAwsFails({ logRetentionS: '60' })).toContain(
      'parameter logRetentionS=60 is not a whole number from 600 to 31536000',
    );
  }, 60_000);

  it('a partition count that is not a number', async () => {
    expect(await packageAwsFails({ kafkaPartitions: 'eight' })).toContain(
      'parameter kafkaPartitions=eight is not a whole number from 1 to 1000',
    );
  }, 60_000);

  it('an alarm topic that is not an SNS topic', async () => {
    expect(await packageAwsFails({ alarmTopicArn: 'shop-operators' })).toContain(
      'parameter alarmTopicArn=shop-operators is not an SNS topic ARN',
    );
  }, 60_000);

  it('a subnet that is not one', async () => {
    expect(await packageAwsFails({ ...EXISTING, existingSubnetIds: 'vpc-123' })).toContain('parameter existingSubnetIds: vpc-123');
  }, 60_000);
});
