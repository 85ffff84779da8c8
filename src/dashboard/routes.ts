import { Router } from 'express';
import { buildDashboardAssets, type DashboardAssets } from './assets';

/**
 * The web dashboard, served by the API on the same origin: a page shell and its bundled assets. The page asks for
 * an API key and then calls the same API (same keys, same roles) that curl would.
 */
export function dashboardRouter(): Router {
  let assets: Promise<DashboardAssets> | undefined;
  // A build that failed is tried again by the next request, not kept.
  const load = () =>
    (assets ??= buildDashboardAssets().catch((error: unknown) => {
      assets = undefined;
      throw error;
    }));
  const router = Router();
  router.get('/', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(SHELL);
  });
  // Browsers ask for it on their own, without the page's key: answered here rather than 401 by the API.
  router.get('/favicon.ico', (_req, res) => {
    res.set('Cache-Control', 'max-age=86400').status(204).end();
  });
  router.get('/dashboard/app.js', async (_req, res) => {
    res
      .type('text/javascript')
      .set('Cache-Control', 'no-cache')
      .send((await load()).js);
  });
  router.get('/dashboard/app.css', async (_req, res) => {
    res
      .type('text/css')
      .set('Cache-Control', 'no-cache')
      .send((await load()).css);
  });
  return router;
}

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>BPO lifecycle orchestrator</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23245b8f'/%3E%3Cpath d='M4 11l3-3 2 2 3-4' stroke='white' stroke-width='1.6' fill='none'/%3E%3C/svg%3E">
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<div id="app"><p>Loading the dashboard…</p></div>
<noscript>The dashboard needs JavaScript. The API is documented at <a href="/docs">/docs</a>.</noscript>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>`;
