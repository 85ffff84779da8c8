/**
 * Everything a benchmark starts registers how to stop it here; `runBenchmark` stops it all in reverse order when
 * the benchmark ends, fails, or is interrupted (Ctrl-C), so no server or worker process outlives the run.
 */
const steps: Array<{ what: string; run: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | undefined;
let verbose = false;

export function onCleanup(what: string, run: () => Promise<unknown>): void {
  steps.push({ what, run });
  // Something that finished starting after the cleanup began (an interruption mid-start) is stopped at once.
  if (cleaning) cleaning = cleaning.then(runSteps);
}

/** Runs the cleanup once: an interruption and the benchmark's own end both wait for the same one. */
function cleanUp(): Promise<void> {
  cleaning ??= runSteps();
  return cleaning;
}

/** A step that hangs (a client waiting on a server a Ctrl-C already stopped) must not keep the rest from running. */
const STEP_TIMEOUT_MS = 15_000;

async function runSteps(): Promise<void> {
  while (steps.length) {
    const step = steps.pop()!;
    if (verbose) console.error(`cleanup: ${step.what}`);
    let timer: NodeJS.Timeout | undefined;
    // The timer also keeps the event loop alive: with every server gone, a step's pending promise alone would not.
    const timedOut = new Promise<'timed out'>(
      (resolve) => (timer = setTimeout(() => resolve('timed out'), STEP_TIMEOUT_MS)),
    );
    try {
      if ((await Promise.race([step.run(), timedOut])) === 'timed out')
        console.error(`cleanup: gave up waiting to ${step.what} after ${STEP_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      console.error(`cleanup: could not ${step.what}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

export function runBenchmark(name: string, main: () => Promise<void>): void {
  let interrupted = false;
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    verbose = true;
    console.error(`${name}: ${signal}, stopping what the benchmark started`);
    void cleanUp().then(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  main()
    .then(
      () => 0,
      (error: unknown) => {
        // After a Ctrl-C the cleanup stops servers under requests still running: their failures are expected.
        if (interrupted) return 130;
        console.error(`${name} failed:`, error);
        return 1;
      },
    )
    .then(async (code) => {
      await cleanUp();
      // Native connections and pools can keep the event loop alive after their owners are gone.
      process.exit(code);
    })
    .catch(() => process.exit(1));
}

/**
 * With BENCH_PROFILE_DIR set, the processes a benchmark forks (API, worker) write V8 CPU profiles there when they
 * stop: open them in Chrome DevTools to see where their CPU went.
 */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
