import type { Client } from '@temporalio/client';
import express from 'express';
import type { Config } from '../config';
import type { PrismaClient } from '../db';
import type { Logger } from '../logger';
import { engagementsRouter } from './engagements';
import { healthRouter } from './health';
import { notFoundRoute, problemHandler } from './problem';
import { vendorsRouter } from './vendors';

export const BODY_LIMIT = '256kb';

/** The Express app, with no listening socket: the server process and the tests both mount it. */
export function createApp(deps: { prisma: PrismaClient; temporal: Client; config: Config; log: Logger }) {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  app.use(healthRouter(deps));
  app.use(vendorsRouter(deps));
  app.use(engagementsRouter(deps));
  app.get('/', (_req, res) => {
    res.type('html').send(dashboardPlaceholder(deps.config));
  });
  app.use(notFoundRoute);
  app.use(problemHandler((error) => deps.log.error({ err: error }, 'unhandled error')));
  return app;
}

function dashboardPlaceholder(config: Config): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>BPO lifecycle orchestrator</title></head>
<body><main><h1>BPO lifecycle orchestrator</h1>
<p>The dashboard arrives with the monitoring issue. Meanwhile: <a href="/health">health</a> and the
<a href="${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows">Temporal Web UI</a>.</p></main></body></html>`;
}
