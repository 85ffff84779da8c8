import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log only warnings and errors; each test file runs in its own module registry.
Runtime.install({ logger: new DefaultLogger('WARN') });
