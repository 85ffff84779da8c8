import { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { Client } from '@temporalio/client';
import express, { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { Config } from '../config';
import { poolOf, type PrismaClient } from '../db';
import type { Logger } from '../logger';
import { dashboardRouter } from '../dashboard/routes';
import { apiKeyRoutes } from './api-keys';
import { authenticate, keyHolders } from './auth';
import type { EngagementChanges } from './engagement-changes';
import { engagementRoutes } from './engagements';
import { healthRouter } from './health';
import { kpiRoutes } from './kpis';
import { notFoundRoute, problemHandler } from './problem';
import { portfolioRoutes } from './portfolio';
import { readRoutes } from './reads';
import { governanceRoutes } from './governance';
import { ApiRoutes } from './route';
import { startStatements } from './start-path';
import { transitionRoutes } from './transition';
import { vendorRoutes } from './vendors';
import type { WorkflowWatches } from './workflow-watches';

export const BODY_LIMIT = '256kb';

/** The Express app, with no listening socket: the server process and the tests both mount it. */
export function createApp(deps: {
  prisma: PrismaClient;
  temporal: Client;
  config: Config;
  log: Logger;
  /** Changes heard from PostgreSQL: without them cached engagement details expire by age alone. */
  changes?: EngagementChanges;
  /** Running workflows' histories followed by long polls: without them a cached live state is checked by describe. */
  watches?: WorkflowWatches;
}) {
  const api = new ApiRoutes(Router());
  const holders = keyHolders(deps.prisma, deps.config.readCacheMs);
  apiKeyRoutes(api, { ...deps, holders });
  vendorRoutes(api, deps);
  const { starts, startAudits } = startStatements(poolOf(deps.prisma));
  engagementRoutes(api, { ...deps, starts, startAudits });
  kpiRoutes(api, deps);
  transitionRoutes(api, { ...deps, starts, startAudits });
  governanceRoutes(api, deps);
  readRoutes(api, deps);
  portfolioRoutes(api, deps);
  const openapi = openApiDocument(api);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(healthRouter(deps));
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: 'BPO orchestrator API' }));
  app.use(dashboardRouter());
  app.use(authenticate(holders), api.router);
  app.use(notFoundRoute);
  app.use(problemHandler((error) => deps.log.error({ err: error }, 'unhandled error')));
  return app;
}

function openApiDocument(api: ApiRoutes) {
  const document = new OpenApiGeneratorV31(api.registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'BPO lifecycle orchestrator API',
      version: '0.1.0',
      description:
        'Vendors, engagements, SLAs and KPI data; starts and steers the lifecycle workflows. Errors are application/problem+json.',
    },
  });
  // Unauthenticated operational routes, documented by hand because they carry no request schema.
  document.paths = {
    ...document.paths,
    '/health': {
      get: {
        summary: 'PostgreSQL and Temporal connectivity',
        tags: ['operations'],
        responses: { '200': { description: 'Both up' }, '503': { description: 'One or both down, named in detail' } },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', tags: ['operations'], responses: { '200': { description: 'OpenAPI 3.1' } } },
    },
    '/dashboard/app.js': {
      get: {
        summary: 'The web dashboard script (Preact and Chart.js bundled; the page at / loads it)',
        tags: ['dashboard'],
        responses: { '200': { description: 'JavaScript module' } },
      },
    },
    '/dashboard/app.css': {
      get: {
        summary: 'The web dashboard stylesheet',
        tags: ['dashboard'],
        responses: { '200': { description: 'CSS' } },
      },
    },
  };
  return document;
}
