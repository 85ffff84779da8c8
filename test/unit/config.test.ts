import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig, pgPoolConfig } from '../../src/config';

describe('configuration', () => {
  it('defaults to embedded PostgreSQL and the Temporal dev server when nothing is set', () => {
    const config = loadConfig({});
    expect(config.embeddedPostgres).toBe(true);
    expect(config.temporal.devServer).toBe(true);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.temporal.uiUrl).toBe('http://localhost:8233');
    expect(config.apiPort).toBe(3000);
  });

  it('uses an external PostgreSQL and Temporal when their variables are set', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/bpo', TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(config.embeddedPostgres).toBe(false);
    expect(config.databaseUrl).toBe('postgresql://u:p@db:5432/bpo');
    expect(config.temporal.devServer).toBe(false);
    expect(config.temporal.address).toBe('temporal:7233');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', API_PORT: '' }).apiPort).toBe(3000);
  });

  it('turns on TLS when a Temporal Cloud API key is given', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' }).temporal.tls).toBe(true);
  });

  it.each([
    ['API_PORT', 'abc', 'API_PORT must be a port number'],
    ['API_PORT', '70000', 'API_PORT must be between 1 and 65535'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must look like postgresql://'],
    ['TEMPORAL_ADDRESS', 'no-port', 'TEMPORAL_ADDRESS must be host:port'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL'],
    ['NOTIFY_WEBHOOK_URL', 'ftp://hooks.example/bpo', 'NOTIFY_WEBHOOK_URL must be an http(s) URL'],
    ['NOTIFY_WEBHOOK_URL', 'https://bot:hunter2@hooks.example/bpo', 'must not carry a user name or password'],
  ])('refuses %s=%s, naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('splits a database URL into pool fields so the adapter can swap the database', () => {
    expect(pgPoolConfig('postgresql://app:s%40cret@db.internal:6543/bpo')).toMatchObject({
      host: 'db.internal',
      port: 6543,
      user: 'app',
      password: 's@cret',
      database: 'bpo',
    });
  });
});

describe('processes started with bad configuration', () => {
  const root = path.join(__dirname, '..', '..');
  const run = (entry: string, env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', entry], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('stops at once with one line naming a malformed port', () => {
    const result = run('src/server.ts', { API_PORT: 'eighty' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('api: invalid configuration: API_PORT must be a port number');
  });

  it('stops with one line, not a stack trace, when DATABASE_URL is unreachable', () => {
    const result = run('src/server.ts', {
      DATABASE_URL: 'postgresql://postgres:postgres@127.0.0.1:1/bpo',
      API_PORT: '39999',
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^api: cannot reach PostgreSQL at 127\.0\.0\.1:1/);
  });
});
