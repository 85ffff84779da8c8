import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';

/** No Docker engine runs in CI: the deployment file is checked statically against the config module. */
const root = path.join(__dirname, '..', '..');
const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const services: Record<string, any> = compose.services; // eslint-disable-line @typescript-eslint/no-explicit-any
const appServices = ['migrate', 'api', 'worker'];

describe('docker-compose.yml', () => {
  it('declares PostgreSQL, Temporal, its Web UI, migrations, the API and the worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'migrate', 'postgres', 'temporal', 'temporal-ui', 'worker']);
  });

  it.each(appServices)('%s builds the app image from the Dockerfile in the repository', (name) => {
    expect(services[name].build).toBe('.');
    expect(fs.existsSync(path.join(root, 'Dockerfile'))).toBe(true);
  });

  it.each(appServices)('%s sets only variables the config module reads, and they validate', (name) => {
    const env: Record<string, string> = services[name].environment;
    expect(Object.keys(env).filter((key) => !CONFIG_VARIABLES.includes(key))).toEqual([]);
    const config = loadConfig(env);
    expect(config.embeddedPostgres).toBe(false);
    expect(config.temporal.devServer).toBe(false);
  });

  it.each(appServices)('%s points at hosts that are services of the file', (name) => {
    const config = loadConfig(services[name].environment);
    expect(services).toHaveProperty(new URL(config.databaseUrl).hostname);
    expect(services).toHaveProperty(config.temporal.address.split(':')[0]);
  });

  it('connects the app to the database PostgreSQL creates, with its credentials', () => {
    const pg = services.postgres.environment;
    const url = new URL(loadConfig(services.api.environment).databaseUrl);
    expect([url.username, url.password, url.pathname.slice(1)]).toEqual([
      pg.POSTGRES_USER,
      pg.POSTGRES_PASSWORD,
      pg.POSTGRES_DB,
    ]);
    expect(services.temporal.environment).toMatchObject({
      POSTGRES_USER: pg.POSTGRES_USER,
      POSTGRES_PWD: pg.POSTGRES_PASSWORD,
    });
  });

  it('publishes the API on its configured port and the Web UI on 8233', () => {
    const apiPort = loadConfig(services.api.environment).apiPort;
    expect(services.api.ports).toContain(`${apiPort}:${apiPort}`);
    expect(services['temporal-ui'].ports).toContain('8233:8080');
  });

  it('runs the worker as a scalable service and starts the app only after migrations succeed', () => {
    expect(services.worker.deploy.replicas).toBeGreaterThanOrEqual(2);
    expect(services.worker.ports).toBeUndefined();
    // Long enough for a local activity's attempts (about a minute) to end before a stop turns into SIGKILL.
    expect(parseInt(services.worker.stop_grace_period, 10)).toBeGreaterThanOrEqual(75);
    for (const name of ['api', 'worker']) {
      expect(services[name].depends_on.migrate.condition).toBe('service_completed_successfully');
      // A crashed process, or the host rebooted, comes back on its own.
      expect(services[name].restart).toBe('unless-stopped');
    }
  });

  it('runs entry points that the build produces', () => {
    const build = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'));
    expect(build.compilerOptions.rootDir).toBe('.');
    for (const name of ['api', 'worker']) {
      const entry: string = services[name].command[1];
      const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(fs.existsSync(path.join(root, source))).toBe(true);
    }
  });
});
