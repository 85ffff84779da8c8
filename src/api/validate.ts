import type { Request } from 'express';
import type { z } from 'zod';
import { validationProblem } from './problem';

/** Parses one part of a request with its zod schema, or throws a 400 that names each failing field. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const result = schema.safeParse(req.body ?? {});
  if (!result.success) throw validationProblem('body', result.error);
  return result.data;
}

export function parseParams<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const result = schema.safeParse(req.params);
  if (!result.success) throw validationProblem('path', result.error);
  return result.data;
}

export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const result = schema.safeParse(req.query);
  if (!result.success) throw validationProblem('query', result.error);
  return result.data;
}
