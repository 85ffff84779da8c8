/** `npm run temporal:dev-server`: makes sure a Temporal CLI is at hand (see src/infra/temporal-cli.ts for the order). */
import { loadConfig } from '../src/config';
import { findOrInstallTemporalCli } from '../src/infra/temporal-cli';
import { createLogger } from '../src/logger';

const config = loadConfig();
findOrInstallTemporalCli({
  explicitPath: config.temporal.cliPath,
  cacheDir: config.cacheDir,
  log: createLogger('setup'),
})
  .then((cliPath) => console.log(`Temporal CLI: ${cliPath}`))
  .catch((error: unknown) => {
    console.error(`temporal:dev-server: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
