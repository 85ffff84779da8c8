import path from 'node:path';
import { build } from 'esbuild';

export interface DashboardAssets {
  js: string;
  css: string;
}

const WEB = path.join(__dirname, 'web');

/**
 * Bundles the dashboard (Preact, Chart.js and our code) into one script and one stylesheet, in memory. Everything
 * comes from node_modules: no CDN, so it works offline. Built once per process, on first request.
 */
export async function buildDashboardAssets(): Promise<DashboardAssets> {
  const result = await build({
    entryPoints: [path.join(WEB, 'main.tsx')],
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'esm',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: path.join(WEB, 'tsconfig.json'),
    logLevel: 'silent',
    legalComments: 'none',
  });
  const file = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: file('.js'), css: file('.css') };
}
