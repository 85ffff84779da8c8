import { Router } from 'express';
import { buildDashboardAssets, type DashboardAssets } from './assets';

/**
 * The web dashboard, served by the API on the same origin: a page shell and its bundled assets. The page asks for
 * an API key and then calls the same API (same keys, same roles) that curl would.
 */
export function dashboardRouter(): Router {
  let assets: Promise<DashboardAssets> | undefined;
  const load = () => (assets ??= buildDashboardAssets());
  const router = Router();
  router.get('/', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(SHELL);
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
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<div id="app"><p>Loading the dashboard…</p></div>
<noscript>The dashboard needs JavaScript. The API is documented at <a href="/docs">/docs</a>.</noscript>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>`;
