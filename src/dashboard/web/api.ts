/** The dashboard's only way to the server: the public API, with the key the user gave. */

const KEY_STORAGE = 'bpo.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** A refusal from the API, carrying its problem+json text so the page can show the reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail || title);
  }
}

/** Longer than any API answer (its own calls to Temporal give up after seconds). */
const REQUEST_TIMEOUT_MS = 30_000;

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const key = storedKey();
  const response = await fetch(path, {
    method,
    headers: {
      accept: 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A request left hanging (a half-open connection after sleep) ends: the views' refreshes wait for the one running.
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  // A proxy's error page (502 while the API restarts) is not JSON: its status is still the answer.
  let json: Record<string, unknown> = {};
  try {
    if (text) json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    if (response.ok) throw new ApiError(response.status, 'Unreadable answer', 'the API did not answer JSON');
  }
  if (!response.ok) {
    const fields = (json.invalidFields as Array<{ field: string; reason: string }> | undefined)
      ?.map((f) => `${f.field}: ${f.reason}`)
      .join('; ');
    throw new ApiError(
      response.status,
      String(json.title ?? response.statusText),
      [json.detail, fields].filter(Boolean).join(' — '),
    );
  }
  return json as T;
}

/** Every item of a paged list (`path` without limit or offset), 200 a page. */
export async function allPages<T>(path: string): Promise<{ items: T[] }> {
  const items: T[] = [];
  const join = path.includes('?') ? '&' : '?';
  for (;;) {
    const page = await api<{ items: T[]; total: number }>('GET', `${path}${join}limit=200&offset=${items.length}`);
    items.push(...page.items);
    if (page.items.length === 0 || items.length >= page.total) return { items };
  }
}

export interface Me {
  name: string;
  role: 'ADMIN' | 'PROGRAM_MANAGER' | 'EXECUTIVE' | 'VENDOR' | 'VIEWER';
  vendor: { id: string; legalName: string } | null;
  temporalUiUrl: string;
  namespace: string;
}

export type Severity = 'P1' | 'P2' | 'P3' | 'P4';

export interface PortfolioRow {
  id: string;
  name: string;
  clientOrganisation: string;
  vendor: { id: string; legalName: string; deliveryModel: string };
  stage: string;
  phase: string | null;
  phaseStatus: 'ACTIVE' | 'HELD' | null;
  volumePct: number | null;
  score: number | null;
  trend: 'up' | 'down' | 'flat' | null;
  creditsThisQuarter: string;
  currency: string;
  openEscalations: Record<Severity, number>;
  nextMilestone: { kind: string; label: string; at: string } | null;
  health: 'GOOD' | 'AT_RISK' | 'CRITICAL';
  workflowUrl: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface PortfolioPage extends Page<PortfolioRow> {
  counts: { byStage?: Record<string, number>; byHealth?: Record<string, number> };
}
