/**
 * docs/openapi.yaml against the code: its operations are the routes the order, stock and payment
 * services serve, with their path parameters and the limits the routes enforce, and its error codes
 * are the ones the code emits. The live view's routes (functions/ops/routes.ts) are left out on
 * purpose: an operator's tool behind a token, not part of the course's API.
 */
import fs from 'node:fs';
import path from 'node:path';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parse } from 'yaml';
import { opsRoutes } from '../../../functions/ops/routes';
import * as orders from '../../../functions/order/orders';
import { orderRoutes } from '../../../functions/order/routes';
import { paymentRoutes } from '../../../functions/payment/routes';
import * as users from '../../../functions/payment/users';
import * as items from '../../../functions/stock/items';
import { stockRoutes } from '../../../functions/stock/routes';
import { LOCK_NOT_AVAILABLE } from '../../../layers/db/bounded-locks';
import * as errors from '../../../layers/errors';
import { httpErrorHandler } from '../../../layers/http/error-handler';
import type { Route } from '../../../layers/http/router';
import { logger } from '../../../layers/logging/logger';

const ROOT = path.join(__dirname, '..', '..', '..');

/** The route tables the document covers, by file. */
const COVERED: Readonly<Record<string, Readonly<Record<string, Route<never>>>>> = {
  'functions/order/routes.ts': orderRoutes,
  'functions/stock/routes.ts': stockRoutes,
  'functions/payment/routes.ts': paymentRoutes,
};
const routes: Record<string, Route<never>> = Object.assign({}, ...Object.values(COVERED));

interface Schema {
  $ref?: string;
  type?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  enum?: string[];
}
interface Parameter {
  $ref?: string;
  name: string;
  in: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  operationId?: string;
  parameters?: Parameter[];
  responses: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, walked by $ref
const doc: any = parse(fs.readFileSync(path.join(ROOT, 'docs', 'openapi.yaml'), 'utf8'));

/** Follows local `$ref`s ("#/components/parameters/item_id") to what they name. */
function resolve<T extends { $ref?: string }>(node: T): T {
  if (!node.$ref) return node;
  const target = node.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((at, key) => at?.[key], doc);
  if (target === undefined) throw new Error(`docs/openapi.yaml: ${node.$ref} names nothing`);
  return resolve(target);
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Every operation of the document, keyed as the route tables key theirs: "POST /stock/add/{item_id}/{amount}". */
const operations = new Map<string, Operation>(
  Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([route, item]) =>
    METHODS.filter((method) => item[method]).map((method) => [`${method.toUpperCase()} ${route}`, item[method]!] as const),
  ),
);
const pathParameters = (operation: Operation): Parameter[] =>
  (operation.parameters ?? []).map(resolve).filter((parameter) => parameter.in === 'path');
const sorted = (values: Iterable<string>) => [...values].sort();

describe('docs/openapi.yaml', () => {
  it('is OpenAPI 3.1 for the gateway on localhost:8000', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([expect.objectContaining({ url: 'http://localhost:8000' })]);
  });

  it(`documents exactly the routes of ${Object.keys(COVERED).join(', ')}`, () => {
    const served = new Set(Object.keys(routes));
    expect({
      servedButNotDocumented: sorted([...served].filter((route) => !operations.has(route))),
      documentedButNotServed: sorted([...operations.keys()].filter((route) => !served.has(route))),
    }).toEqual({ servedButNotDocumented: [], documentedButNotServed: [] });
  });

  it('leaves out the live view (functions/ops/routes.ts), which is not part of the public API', () => {
    expect(Object.keys(opsRoutes).filter((route) => operations.has(route))).toEqual([]);
  });

  it('gives every operation a unique operationId and a 200 reply', () => {
    const ids = [...operations.values()].map((operation) => operation.operationId);
    expect(ids.filter((id) => !id)).toEqual([]);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect([...operations].filter(([, operation]) => !operation.responses['200']).map(([route]) => route)).toEqual([]);
  });

  it.each(Object.keys(routes).sort())('declares the path parameters of %s, and no others', (route) => {
    const operation = operations.get(route);
    if (!operation) return; // reported by the test of the route set
    const inKey = sorted([...route.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!));
    const declared = pathParameters(operation);
    expect(sorted(declared.map((parameter) => parameter.name))).toEqual(inKey);
    expect(declared.filter((parameter) => parameter.required !== true).map((parameter) => parameter.name)).toEqual([]);
  });
});

describe('path parameter limits', () => {
  /** Reached once a route has accepted its parameters and turns to its databases. */
  class Reached extends Error {}
  const poison: unknown = new Proxy(() => undefined, {
    get: () => {
      throw new Reached('past the parameters');
    },
    apply: () => {
      throw new Reached('past the parameters');
    },
  });
  const deps = new Proxy({}, { get: () => poison }) as never;

  beforeEach(() => {
    // batch_init at its largest n would build millions of rows before it reaches a database.
    const reached = () => Promise.reject(new Reached('past the parameters'));
    jest.spyOn(items, 'batchInitItems').mockImplementation(reached);
    jest.spyOn(users, 'batchInitUsers').mockImplementation(reached);
    jest.spyOn(orders, 'batchInitOrders').mockImplementation(reached);
  });
  afterEach(() => jest.restoreAllMocks());

  /** Whether the route refuses these parameters with a 400 that names `name`. */
  async function refuses(route: string, params: Record<string, string>, name: string): Promise<boolean> {
    try {
      await routes[route]!(params, deps, {});
    } catch (error) {
      if (error instanceof errors.BadRequestError) {
        if (!error.message.includes(name))
          throw new Error(`${route} refused ${JSON.stringify(params)} naming something else: ${error.message}`);
        return true;
      }
    }
    return false;
  }

  it.each(Object.keys(routes).sort())('of %s are the ones the route enforces', async (route) => {
    const operation = operations.get(route);
    if (!operation) return; // reported by the test of the route set
    const parameters = pathParameters(operation).map((parameter) => ({ name: parameter.name, schema: resolve(parameter.schema) }));
    const valid = Object.fromEntries(
      parameters.map(({ name, schema }) => [name, schema.type === 'integer' ? String(schema.minimum ?? 0) : 'a']),
    );
    const wrong: string[] = [];
    const expectRoute = async (name: string, value: string, refused: boolean) => {
      if ((await refuses(route, { ...valid, [name]: value }, name)) !== refused)
        wrong.push(`${name} = ${value.length > 20 ? `${value.length} characters` : value} is ${refused ? 'accepted' : 'refused'}`);
    };
    for (const { name, schema } of parameters) {
      if (schema.type === 'integer') {
        if (schema.minimum === undefined || schema.maximum === undefined) throw new Error(`${route}: ${name} has no minimum or maximum`);
        await expectRoute(name, String(schema.minimum), false);
        await expectRoute(name, String(schema.maximum), false);
        await expectRoute(name, String(BigInt(schema.maximum) + 1n), true);
        await expectRoute(name, String(schema.minimum - 1), true);
      } else {
        if (schema.type !== 'string' || schema.maxLength === undefined || schema.pattern === undefined)
          throw new Error(`${route}: ${name} is not a string with maxLength and pattern`);
        expect(new RegExp(schema.pattern).test('a.b')).toBe(false);
        await expectRoute(name, 'a'.repeat(schema.maxLength), false);
        await expectRoute(name, 'a'.repeat(schema.maxLength + 1), true);
        await expectRoute(name, 'a.b', true);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('error codes', () => {
  const documented: string[] = doc.components.schemas.Error.properties.code.enum;

  /** The code each error class of layers/errors gives when its thrower names none. */
  const classDefaults = Object.values(errors).flatMap((value) => {
    if (value === errors.AppError) return [new errors.AppError('x', 500).code];
    if (typeof value === 'function' && value.prototype instanceof errors.AppError)
      return [new (value as unknown as new (message: string) => errors.AppError)('x').code];
    return [];
  });

  /** The codes the error handler gives what is not an `AppError`: a fault, a lock held too long, a database out of reach. */
  async function handlerCodes(): Promise<string[]> {
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const codes = [];
    for (const error of [
      new Error('x'),
      Object.assign(new Error('x'), { code: LOCK_NOT_AVAILABLE }),
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    ]) {
      const request = { event: { routeKey: 'GET /x' }, error, response: undefined } as unknown as middy.Request<
        APIGatewayProxyEventV2,
        APIGatewayProxyStructuredResultV2
      >;
      await httpErrorHandler().onError!(request);
      codes.push((JSON.parse(request.response!.body!) as { code: string }).code);
    }
    jest.restoreAllMocks();
    return codes;
  }

  /** The source of the functions and layers, where throwers name their codes (`{ code: 'order_paid' }`). */
  const source = ['functions', 'layers']
    .flatMap((dir) => fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((file) => path.join(ROOT, dir, file)))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
  const namedAtThrowSites = [...source.matchAll(/\bcode: '([a-z_]+)'/g)].map((match) => match[1]!);

  it('include every code layers/errors and the error handler define, and every code a thrower names', async () => {
    const defined = new Set([...classDefaults, ...(await handlerCodes()), ...namedAtThrowSites]);
    expect(classDefaults).toEqual(expect.arrayContaining(['bad_request', 'not_found', 'conflict', 'unavailable']));
    expect(sorted([...defined].filter((code) => !documented.includes(code)))).toEqual([]);
  });

  it('are each a code the code emits', async () => {
    // A code built from parts (`${noun}_not_found`, checkout's refusal codes) still appears whole somewhere as a literal.
    const known = new Set([...classDefaults, ...(await handlerCodes()), ...namedAtThrowSites]);
    expect(documented.filter((code) => !known.has(code) && !source.includes(`'${code}'`))).toEqual([]);
    expect(documented.filter((code, index) => documented.indexOf(code) !== index)).toEqual([]);
  });

  it('of each reply are among the Error schema codes', () => {
    const narrowed: string[] = [];
    const walk = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      const code = (node as { properties?: { code?: { enum?: string[]; const?: string } } }).properties?.code;
      if (code) narrowed.push(...(code.enum ?? []), ...(code.const === undefined ? [] : [code.const]));
      for (const child of Object.values(node)) walk(child);
    };
    walk(doc.components.responses);
    walk(doc.paths);
    expect(narrowed.length).toBeGreaterThan(0);
    expect(narrowed.filter((code) => !documented.includes(code))).toEqual([]);
  });
});
