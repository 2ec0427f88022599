/** The slice of CloudFormation's template language the deploy builds. */
export type Intrinsic =
  | { readonly Ref: string }
  | { readonly 'Fn::GetAtt': readonly [string, string] }
  | { readonly 'Fn::Sub': string | readonly [string, Record<string, unknown>] }
  | { readonly 'Fn::Join': readonly [string, readonly unknown[]] }
  | { readonly 'Fn::Select': readonly [number, unknown] }
  | { readonly 'Fn::Split': readonly [string, unknown] }
  | { readonly 'Fn::GetAZs': string };

/** A string known when packaging, or one CloudFormation works out when deploying. */
export type TemplateString = string | Intrinsic;

export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | readonly string[];
  readonly DeletionPolicy?: 'Delete' | 'Retain' | 'Snapshot';
  readonly UpdateReplacePolicy?: 'Delete' | 'Retain' | 'Snapshot';
}

export type Resources = Record<string, Resource>;

export const ref = (logicalId: string): Intrinsic => ({ Ref: logicalId });
export const getAtt = (logicalId: string, attribute: string): Intrinsic => ({ 'Fn::GetAtt': [logicalId, attribute] });

/** The `Name` tag the console shows, `<service>-<stage>-<what>`. */
export function nameTag(prefix: string, what: string): { Key: string; Value: string }[] {
  return [{ Key: 'Name', Value: `${prefix}-${what}` }];
}

/** Serverless's logical id of a function (`orderResults` → `OrderResultsLambdaFunction`). */
export function lambdaLogicalId(functionKey: string): string {
  return `${functionKey[0]!.toUpperCase()}${functionKey.slice(1)}LambdaFunction`;
}
