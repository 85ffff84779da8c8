import pino from 'pino';
import { loadConfig } from './config';

/** Structured JSON logs, one line per event; `name` says which process or part wrote it. */
export function createLogger(name: string, level = loadConfig().logLevel) {
  return pino({ name, level, base: { pid: process.pid } });
}

export type Logger = ReturnType<typeof createLogger>;
