import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export interface DashboardAssets {
  js: string;
  css: string;
}

// Next to this file when run from source; from dist/src/dashboard (the built image) the sources are at the root.
const WEB = [path.join(__dirname, 'web'), path.join(__dirname, '..', '..', '..', 'src', 'dashboard', 'web')].find(
  (dir) => fs.existsSync(path.join(dir, 'main.tsx')),
)!;

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
