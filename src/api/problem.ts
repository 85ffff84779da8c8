import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { isDatabaseUnreachable, isUniqueViolation } from '../db';

/** RFC 9457 problem details: every refusal names what was wrong, and where. */
export interface InvalidField {
  field: string;
  reason: string;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly invalidFields?: InvalidField[],
  ) {
    super(detail ?? title);
  }
}

export const notFound = (what: string) => new ProblemError(404, 'Not Found', `${what} not found`);
export const conflict = (detail: string) => new ProblemError(409, 'Conflict', detail);
export const unavailable = (detail: string) => new ProblemError(503, 'Service Unavailable', detail);

export function validationProblem(where: 'body' | 'query' | 'path' | 'header', error: z.ZodError): ProblemError {
  // A value of the wrong type is reported as that alone: zod also runs the field's size checks on it (a string sent
  // for a list gets "expected string to have <=6 characters"), which would only confuse.
  const key = (issue: z.core.$ZodIssue) => issue.path.map(String).join('.');
  const wrongType = new Set(error.issues.filter((i) => i.code === 'invalid_type').map(key));
  const issues = error.issues.filter((i) => i.code === 'invalid_type' || !wrongType.has(key(i)));
  const invalidFields = issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    // zod's default for a field left out says what type it expected of nothing: say what is wrong instead.
    reason: /^Invalid input: expected \w+, received undefined$/.test(issue.message) ? 'is required' : issue.message,
  }));
  const detail = invalidFields.map((f) => `${f.field}: ${f.reason}`).join('; ');
  return new ProblemError(400, 'Invalid request', detail, invalidFields);
}

export const notFoundRoute: RequestHandler = (req) => {
  throw new ProblemError(404, 'Not Found', `no route ${req.method} ${req.path}`);
};

/**
 * Turns every error into problem+json; body-parser's own errors (bad JSON, too large) keep their 4xx status, and an
 * unreachable database is a 503, not a bug.
 */
export function problemHandler(onUnexpected: (error: unknown) => void): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let problem: ProblemError;
    const clientStatus = clientErrorStatus(error);
    if (error instanceof ProblemError) {
      problem = error;
    } else if (isBodyParserError(error)) {
      problem =
        error.type === 'entity.too.large'
          ? new ProblemError(413, 'Payload Too Large', `request body exceeds ${error.limit} bytes`)
          : error.status === 415
            ? // An unsupported charset or Content-Encoding: the body's form, as a wrong Content-Type is.
              new ProblemError(415, 'Unsupported Media Type', `body: ${error.message}`)
            : new ProblemError(
                400,
                'Invalid request',
                `body: ${error.type === 'entity.parse.failed' ? 'malformed JSON' : error.message}`,
              );
    } else if (clientStatus) {
      // Express and its parsers raise 4xx errors of their own (a malformed %-escape in the path, a body whose
      // Content-Encoding lies): the client's mistake, said as such.
      const message = (error as Error).message;
      problem = new ProblemError(
        clientStatus,
        'Invalid request',
        /decode param/i.test(message)
          ? `path: ${message}`
          : `body: cannot be read as sent (${message}; check Content-Encoding)`,
      );
    } else if (isUniqueViolation(error)) {
      // A concurrent request wrote the same unique value first (two creates of one vendor name at once): the
      // check before the write could not see it. The client's retry gets the ordinary conflict answer.
      problem = new ProblemError(
        409,
        'Conflict',
        'a concurrent request wrote the same unique value first; read it and retry',
      );
    } else if (isDatabaseUnreachable(error)) {
      problem = unavailable('PostgreSQL is unreachable or too slow to answer; try again shortly');
    } else {
      onUnexpected(error);
      problem = new ProblemError(500, 'Internal Server Error', 'unexpected error; see the server log');
    }
    sendProblem(req, res, problem);
  };
}

/** Writes a problem as application/problem+json; `extra` members (RFC 9457 extensions) go beside the standard ones. */
export function sendProblem(req: Request, res: Response, problem: ProblemError, extra: Record<string, unknown> = {}) {
  res
    .status(problem.status)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      instance: req.originalUrl,
      ...(problem.invalidFields ? { invalidFields: problem.invalidFields } : {}),
      ...extra,
    });
}

function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && code >= 400 && code < 500 ? code : undefined;
}

function isBodyParserError(error: unknown): error is { type: string; status: number; limit?: number; message: string } {
  return typeof error === 'object' && error !== null && 'type' in error && 'status' in error;
}
