import { kafkaConnection, producerClientId } from '../../../../layers/config/kafka';
import { kafkaClientConfig } from '../../../../layers/kafka/connection';

const CLUSTER = 'arn:aws:kafka:eu-west-1:123456789012:cluster/shop-aws/0b3c1a2e-1111-2222-3333-444455556666-2';

describe('kafkaConnection', () => {
  it('reads a list of brokers', () => {
    expect(kafkaConnection({ KAFKA_BROKERS: ' a:9092, b:9092 ,' })).toEqual({ kind: 'brokers', brokers: ['a:9092', 'b:9092'] });
  });

  it('prefers an MSK cluster, in the region its ARN names', () => {
    expect(kafkaConnection({ KAFKA_CLUSTER_ARN: CLUSTER, KAFKA_BROKERS: 'a:9092' })).toEqual({
      kind: 'msk-iam',
      clusterArn: CLUSTER,
      region: 'eu-west-1',
      brokers: ['a:9092'],
    });
  });

  it('names the variable when neither is set', () => {
    expect(() => kafkaConnection({})).toThrow('KAFKA_BROKERS or KAFKA_CLUSTER_ARN must be set');
  });

  it('refuses an ARN that is not an MSK cluster', () => {
    expect(() => kafkaConnection({ KAFKA_CLUSTER_ARN: 'arn:aws:sqs:eu-west-1:123456789012:queue' })).toThrow(
      'KAFKA_CLUSTER_ARN=arn:aws:sqs:eu-west-1:123456789012:queue is not an MSK cluster ARN',
    );
  });
});

describe('producerClientId', () => {
  it("names the producer after the function, or 'function' outside Lambda", () => {
    expect(producerClientId({ AWS_LAMBDA_FUNCTION_NAME: 'shop-local-orderApi' })).toBe('shop-shop-local-orderApi');
    expect(producerClientId({})).toBe('shop-function');
  });
});

describe('kafkaClientConfig', () => {
  it('connects to MSK over TLS with IAM (OAUTHBEARER) at the brokers the deploy passed in', () => {
    const config = kafkaClientConfig(
      { kind: 'msk-iam', clusterArn: CLUSTER, region: 'eu-west-1', brokers: ['b-1:9098', 'b-2:9098'] },
      'test',
    );
    expect(config.ssl).toBe(true);
    expect(config.sasl?.mechanism).toBe('oauthbearer');
    expect(config.brokers).toEqual(['b-1:9098', 'b-2:9098']);
  });

  it('refuses MSK without brokers, naming the variable and where it comes from', () => {
    expect(() => kafkaClientConfig({ kind: 'msk-iam', clusterArn: CLUSTER, region: 'eu-west-1', brokers: [] }, 'test')).toThrow(
      `environment variable KAFKA_BROKERS is empty: the deploy passes MSK cluster ${CLUSTER}'s bootstrap brokers`,
    );
  });

  it('connects to plain brokers without authentication', () => {
    const config = kafkaClientConfig({ kind: 'brokers', brokers: ['a:9092'] }, 'test');
    expect(config.brokers).toEqual(['a:9092']);
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
  });
});
