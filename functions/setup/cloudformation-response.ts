/**
 * The custom resource protocol of CloudFormation: the stack waits until the function PUTs a
 * SUCCESS or FAILED document to the presigned `ResponseURL` of the request. A request never
 * answered holds the stack for the resource's ServiceTimeout, so every path answers.
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html)
 */
export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
}

export function isCustomResourceEvent(event: unknown): event is CustomResourceEvent {
  if (typeof event !== 'object' || event === null) return false;
  const fields = event as Record<string, unknown>;
  return ['Create', 'Update', 'Delete'].includes(String(fields.RequestType)) && typeof fields.ResponseURL === 'string';
}

/** CloudFormation shows at most 4 KB of the reason. */
const MAX_REASON = 3_000;

/**
 * Runs `work` for a Create or Update (a Delete changes nothing: the shards' data outlives the
 * setup) and answers CloudFormation with its outcome, and `data` of its result as the resource's
 * attributes (`Fn::GetAtt`); a run still going at `deadline` answers FAILED, so the stack rolls
 * back instead of hanging.
 */
export async function answerCloudFormation<T>(
  event: CustomResourceEvent,
  work: () => Promise<T>,
  deadlineMs: number,
  {
    data,
    send = putResponse,
  }: { data?: (result: T) => Readonly<Record<string, string>>; send?: (url: string, body: string) => Promise<void> } = {},
): Promise<void> {
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = 'done';
  let attributes: Readonly<Record<string, string>> | undefined;
  if (event.RequestType !== 'Delete') {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`setup did not finish within ${Math.round(deadlineMs / 1000)} s`)), deadlineMs);
    });
    try {
      const result = await Promise.race([work(), deadline]);
      reason = JSON.stringify(result);
      attributes = data?.(result);
    } catch (error) {
      status = 'FAILED';
      reason = error instanceof Error ? error.message : String(error);
    } finally {
      clearTimeout(timer);
    }
  }
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, MAX_REASON),
    // The same id on every update: a new one would make CloudFormation delete the old resource.
    PhysicalResourceId: event.PhysicalResourceId ?? event.LogicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(attributes ? { Data: attributes } : {}),
  });
  await send(event.ResponseURL, body);
}

/** The presigned URL was signed without a content type, so the request must carry none. */
async function putResponse(url: string, body: string): Promise<void> {
  const reply = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!reply.ok) throw new Error(`CloudFormation response refused: HTTP ${reply.status} ${await reply.text()}`);
}
