import { OpenAPIRegistry, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../domain/types';
import type { Role } from '../generated/prisma/enums';
import type { Principal } from './auth';
import { ProblemError, validationProblem, type InvalidField } from './problem';

/**
 * Declares a route once: the same zod schemas validate the request in Express and describe it in the OpenAPI
 * document, so every served route is documented and every documented route is served.
 */
export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path, e.g. /engagements/:id */
  path: string;
  summary: string;
  tag: string;
  /** Roles allowed; ADMIN is always allowed. Empty means any authenticated key. */
  roles: Role[];
  params?: P;
  query?: Q;
  body?: B;
  /** Extra request headers the route reads, e.g. Idempotency-Key. */
  headers?: z.ZodObject;
  responses: Record<number, string>;
  /** Handler's success status (first key of `responses` when omitted). */
}

/** A write route that ran: its declared path (e.g. /vendors/:id) and its parsed path parameters. */
export interface Write {
  path: string;
  params: Record<string, unknown>;
}

/**
 * A handler's answer: a body to serialise, or JSON already serialised (a cached read serves it as it is), with its
 * ETag when the cache keeps that too (else Express hashes the bytes on every response).
 */
export type RouteResult = { status: number; body: unknown } | { status: number; json: string; etag?: string };

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  req: Request;
  res: Response;
}

export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  invalidFields: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
});

export class ApiRoutes {
  readonly registry = new OpenAPIRegistry();
  private readonly writeListeners: Array<(write: Write) => void> = [];

  constructor(readonly router: Router) {
    this.registry.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  }

  /** Called after every write route's handler has run (also when it failed), before the response is sent. */
  afterWrite(listener: (write: Write) => void): void {
    this.writeListeners.push(listener);
  }

  route<P extends z.ZodType = z.ZodObject, Q extends z.ZodType = z.ZodObject, B extends z.ZodType = z.ZodUnknown>(
    spec: RouteSpec<P, Q, B>,
    handler: (ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<RouteResult>,
  ): void {
    this.registry.registerPath(openApiPath(spec));
    const roles = allowedRoles(spec);
    this.router[spec.method](spec.path, async (req, res) => {
      const principal = req.principal!;
      if (!roles.includes(principal.role)) {
        throw new ProblemError(
          403,
          'Forbidden',
          `role ${principal.role} may not ${spec.method.toUpperCase()} ${spec.path} (${spec.summary.split(':')[0]}): ` +
            `it is for ${roles.join(', ')}`,
        );
      }
      const params = parse(spec.params, req.params, 'path');
      const query = parse(spec.query, req.query, 'query');
      parse(spec.headers, req.headers, 'header');
      // express.json leaves any other body unread: refuse it rather than act on a body we never saw. (An empty
      // body, `Content-Length: 0` as fetch sends on a bare POST, is no body.)
      if (spec.body && req.get('content-length') !== '0' && req.is(JSON_TYPES) === false) {
        throw new ProblemError(
          415,
          'Unsupported Media Type',
          `body: must be application/json, not ${req.get('content-type') ?? 'untyped'}`,
        );
      }
      const body = parse(spec.body, req.body ?? {}, 'body');
      let result;
      try {
        result = await handler({ params, query, body, principal, req, res });
      } finally {
        // Also after a failure: a write may have happened before it.
        if (spec.method !== 'get')
          for (const listener of this.writeListeners)
            listener({ path: spec.path, params: params as Record<string, unknown> });
      }
      if ('json' in result) {
        if (result.etag) res.set('ETag', result.etag);
        res.status(result.status).type('application/json').send(result.json);
      } else res.status(result.status).json(result.body);
    });
  }
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/** Who may call a route: ADMIN always, then the declared roles (every role when none are declared). */
function allowedRoles(spec: { roles: Role[] }): Role[] {
  return spec.roles.length ? ['ADMIN', ...spec.roles.filter((role) => role !== 'ADMIN')] : [...ROLES];
}

function parse<S extends z.ZodType>(
  schema: S | undefined,
  value: unknown,
  where: 'path' | 'query' | 'body' | 'header',
) {
  if (!schema) return {} as z.infer<S>;
  const result = schema.safeParse(value);
  if (!result.success) throw validationProblem(where, result.error);
  const unstorable = unstorableStrings(result.data, [where]);
  if (unstorable.length) {
    const detail = unstorable.map((f) => `${f.field}: ${f.reason}`).join('; ');
    throw new ProblemError(400, 'Invalid request', detail, unstorable);
  }
  return result.data;
}

/** JSON and URLs can carry what PostgreSQL text cannot store: NUL characters and unpaired UTF-16 surrogates. */
const UNSTORABLE = /[\0\p{Cs}]/u;

function unstorableStrings(value: unknown, path: string[]): InvalidField[] {
  if (typeof value === 'string') {
    return UNSTORABLE.test(value)
      ? [{ field: path.join('.'), reason: 'must not contain NUL characters or unpaired surrogates' }]
      : [];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => unstorableStrings(child, [...path, key]));
}

function openApiPath(spec: RouteSpec<z.ZodType, z.ZodType, z.ZodType>): RouteConfig {
  const problem = { content: { 'application/problem+json': { schema: problemSchema } } };
  const responses: RouteConfig['responses'] = {};
  for (const [status, description] of Object.entries(spec.responses)) {
    responses[status] = Number(status) >= 400 ? { description, ...problem } : { description };
  }
  responses['400'] ??= { description: 'Invalid request: each failing field is named', ...problem };
  responses['401'] = { description: 'Missing or unknown API key', ...problem };
  if (spec.body) responses['415'] = { description: 'A body that is not application/json', ...problem };
  const roles = allowedRoles(spec);
  if (roles.length < ROLES.length) responses['403'] = { description: `Only ${roles.join(', ')}`, ...problem };
  return {
    method: spec.method,
    path: spec.path.replace(/:(\w+)/g, '{$1}'),
    summary: spec.summary,
    tags: [spec.tag],
    security: [{ apiKey: [] }],
    'x-roles': roles,
    request: {
      params: spec.params as z.ZodObject | undefined,
      query: spec.query as z.ZodObject | undefined,
      headers: spec.headers,
      body: spec.body ? { content: { 'application/json': { schema: spec.body } }, required: true } : undefined,
    },
    responses,
  };
}
