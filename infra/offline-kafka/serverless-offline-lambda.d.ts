/** What this plugin uses of serverless-offline 14's Lambda runner (`src/lambda/Lambda.js`); it ships no types. */
declare module 'serverless-offline/lambda' {
  export interface LambdaFunction {
    setEvent(event: unknown): void;
    runHandler(): Promise<unknown>;
  }

  export default class Lambda {
    constructor(serverless: unknown, options: Readonly<Record<string, unknown>>);
    create(lambdas: { functionKey: string; functionDefinition: object }[]): void;
    getByFunctionName(functionName: string): LambdaFunction;
    cleanup(): Promise<void>;
  }
}
