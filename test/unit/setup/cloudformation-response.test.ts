import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerCloudFormation, type CustomResourceEvent, isCustomResourceEvent } from '../../../functions/setup/cloudformation-response';

interface Received {
  method?: string;
  contentType?: string;
  body: Record<string, unknown>;
}

/** A stand-in for the presigned S3 URL CloudFormation listens on: records each PUT. */
async function responseUrl(): Promise<{ url: string; received: Received[]; close: () => void }> {
  const received: Received[] = [];
  const server = http.createServer((request, reply) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({
        method: request.method,
        contentType: request.headers['content-type'],
        body: JSON.parse(body) as Record<string, unknown>,
      });
      reply.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/response?X-Amz-Signature=x`, received, close: () => server.close() };
}

function request(url: string, type: CustomResourceEvent['RequestType'], physicalId?: string): CustomResourceEvent {
  return {
    RequestType: type,
    ResponseURL: url,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/shop-aws/1',
    RequestId: 'req-1',
    LogicalResourceId: 'SetupRun',
    ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
  };
}

describe('answerCloudFormation', () => {
  it('runs the setup on Create and answers SUCCESS with its report, with the empty content type the URL was signed for', async () => {
    const target = await responseUrl();
    await answerCloudFormation(request(target.url, 'Create'), async () => ({ topicsCreated: ['dead-letters'] }), 5_000);
    target.close();
    expect(target.received).toEqual([
      {
        method: 'PUT',
        contentType: '',
        body: {
          Status: 'SUCCESS',
          Reason: '{"topicsCreated":["dead-letters"]}',
          PhysicalResourceId: 'SetupRun',
          StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/shop-aws/1',
          RequestId: 'req-1',
          LogicalResourceId: 'SetupRun',
        },
      },
    ]);
  });

  it('answers the attributes the stack reads from the result (Fn::GetAtt SetupRun.BootstrapBrokers)', async () => {
    const target = await responseUrl();
    await answerCloudFormation(request(target.url, 'Update', 'SetupRun'), async () => ({ bootstrapBrokers: 'b-1:9098,b-2:9098' }), 5_000, {
      data: (report) => ({ BootstrapBrokers: report.bootstrapBrokers }),
    });
    target.close();
    expect(target.received[0]?.body).toMatchObject({ Status: 'SUCCESS', Data: { BootstrapBrokers: 'b-1:9098,b-2:9098' } });
  });

  it('answers FAILED with the error, keeping the physical id, when the setup fails', async () => {
    const target = await responseUrl();
    await answerCloudFormation(
      request(target.url, 'Update', 'SetupRun'),
      async () => Promise.reject(new Error('connect ETIMEDOUT 10.42.128.7:5432')),
      5_000,
    );
    target.close();
    expect(target.received[0]?.body).toMatchObject({
      Status: 'FAILED',
      Reason: 'connect ETIMEDOUT 10.42.128.7:5432',
      PhysicalResourceId: 'SetupRun',
    });
  });

  it('answers FAILED when the setup outlives its deadline, instead of holding the stack', async () => {
    const target = await responseUrl();
    await answerCloudFormation(request(target.url, 'Create'), () => new Promise(() => undefined), 50);
    target.close();
    expect(target.received[0]?.body).toMatchObject({ Status: 'FAILED', Reason: 'setup did not finish within 0 s' });
  });

  it('changes nothing on Delete and answers SUCCESS', async () => {
    const target = await responseUrl();
    const work = jest.fn();
    await answerCloudFormation(request(target.url, 'Delete', 'SetupRun'), work, 5_000);
    target.close();
    expect(work).not.toHaveBeenCalled();
    expect(target.received[0]?.body).toMatchObject({ Status: 'SUCCESS' });
  });
});

describe('isCustomResourceEvent', () => {
  it('tells a CloudFormation request from a direct invocation', () => {
    expect(isCustomResourceEvent(request('https://s3.example/x', 'Create'))).toBe(true);
    expect(isCustomResourceEvent({})).toBe(false);
    expect(isCustomResourceEvent({ RequestType: 'Create' })).toBe(false);
  });
});
