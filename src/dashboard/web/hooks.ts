import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

/** How often a view refreshes itself while the tab is visible. */
export const POLL_MS = 3000;

/**
 * Loads on mount and again every POLL_MS while the page is visible, so the view stays current without a reload.
 * `reload` refreshes at once (after an action). The last good data stays on screen while a refresh fails. A tick
 * that finds a load still running skips: a load slower than POLL_MS (the API waiting out an unreachable Temporal)
 * is shown when it ends, instead of being dropped for the next one, and requests do not pile up behind it.
 */
export function usePolled<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loadedAt, setLoadedAt] = useState(0);
  const generation = useRef(0);
  /** Loads started and not yet ended. */
  const inFlight = useRef(0);
  const loaded = useRef(false);
  /** The first load was refused for good (401, 403, 404): polling stops until the view asks for something else. */
  const settled = useRef(false);
  const run = useCallback(load, deps);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    inFlight.current++;
    try {
      const value = await run().finally(() => inFlight.current--);
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
      setLoadedAt(Date.now());
    } catch (e) {
      if (mine !== generation.current) return;
      setError(e as Error);
      // Nothing to find, or not for this key: asking again every few seconds will not change that.
      if (!loaded.current && e instanceof ApiError && [401, 403, 404].includes(e.status)) settled.current = true;
      return;
    }
    loaded.current = true;
  }, [run]);

  useEffect(() => {
    loaded.current = false;
    settled.current = false;
    void reload();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible' && !settled.current && inFlight.current === 0) void reload();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);

  return { data, error, loadedAt, reload };
}

/** Re-renders every second, for countdowns. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/** The location hash as a route: #/ or #/engagements/<id>. */
export function useHashRoute(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const onChange = () => setHash(location.hash || '#/');
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}
