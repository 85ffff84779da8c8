import { useEffect, useState } from 'preact/hooks';
import { allPages, api, type Me, type PortfolioPage as PortfolioData, type PortfolioRow } from './api';
import { date, label, money } from './format';
import { usePolled } from './hooks';
import { HealthBadge, Problem, StageBadge, Trend, WorkflowLink } from './parts';

const STAGES = ['CONTRACTED', 'TRANSITION', 'STEADY_STATE', 'RENEWAL', 'EXIT', 'CLOSED'];
const HEALTHS = ['GOOD', 'AT_RISK', 'CRITICAL'];
const PAGE_SIZE = 50;

const COLUMNS: Array<{ key: string; title: string }> = [
  { key: 'name', title: 'Engagement' },
  { key: 'vendor', title: 'Vendor' },
  { key: 'deliveryModel', title: 'Delivery' },
  { key: 'stage', title: 'Stage' },
  { key: 'phase', title: 'Phase' },
  { key: 'volumePct', title: 'Volume' },
  { key: 'score', title: 'Score' },
  { key: 'credits', title: 'Credits this quarter' },
  { key: 'escalations', title: 'Open escalations' },
  { key: 'nextMilestone', title: 'Next milestone' },
  { key: 'health', title: 'Health' },
];

export function PortfolioPage({ me }: { me: Me }) {
  const [filters, setFilters] = useState({ vendorId: '', stage: '', health: '', q: '' });
  const [sort, setSort] = useState({ key: 'name', order: 'asc' as 'asc' | 'desc' });
  const [offset, setOffset] = useState(0);

  const query = new URLSearchParams({
    sort: sort.key,
    order: sort.order,
    limit: String(PAGE_SIZE),
    offset: String(offset),
    ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)),
  }).toString();
  const { data, error } = usePolled(() => api<PortfolioData>('GET', `/portfolio?${query}`), [query]);
  // Every vendor, once per visit (the list rarely changes): the filter offers the 201st too.
  const [vendors, setVendors] = useState<{ data?: { items: Array<{ id: string; legalName: string }> } }>({});
  useEffect(() => {
    if (me.role === 'VENDOR') return;
    allPages<{ id: string; legalName: string }>('/vendors').then(
      (all) => setVendors({ data: all }),
      () => setVendors({}),
    );
  }, [me.role]);
  // The rows shrank under the page shown (a filter's matches resolved meanwhile): show the last page there is.
  useEffect(() => {
    if (data && offset > 0 && offset >= data.total)
      setOffset(Math.max(0, Math.ceil(data.total / PAGE_SIZE) - 1) * PAGE_SIZE);
  }, [data, offset]);

  const setFilter = (name: keyof typeof filters, value: string) => {
    setFilters({ ...filters, [name]: value });
    setOffset(0);
  };
  const sortBy = (key: string) => {
    setSort(sort.key === key ? { key, order: sort.order === 'asc' ? 'desc' : 'asc' } : { key, order: 'asc' });
    setOffset(0);
  };

  return (
    <section aria-labelledby="portfolio-title">
      <h1 id="portfolio-title">Portfolio</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter engagements">
        {me.role !== 'VENDOR' && (
          <label>
            Vendor
            <select
              value={filters.vendorId}
              onChange={(e) => setFilter('vendorId', (e.target as HTMLSelectElement).value)}
            >
              <option value="">All vendors</option>
              {vendors.data?.items.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.legalName}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Stage
          <select value={filters.stage} onChange={(e) => setFilter('stage', (e.target as HTMLSelectElement).value)}>
            <option value="">All stages</option>
            {STAGES.map((s) => (
              <option key={s} value={s}>
                {label(s)}
                {data?.counts.byStage?.[s] !== undefined && !filters.stage ? ` (${data.counts.byStage[s]})` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Health
          <select value={filters.health} onChange={(e) => setFilter('health', (e.target as HTMLSelectElement).value)}>
            <option value="">Any health</option>
            {HEALTHS.map((h) => (
              <option key={h} value={h}>
                {label(h)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search
          <input
            type="search"
            value={filters.q}
            placeholder="engagement, client or vendor"
            maxLength={100}
            onInput={(e) => setFilter('q', (e.target as HTMLInputElement).value)}
          />
        </label>
      </form>
      {error && <Problem error={error} />}
      {data && (
        <>
          <p class="summary" aria-live="polite" data-testid="portfolio-summary">
            {data.total} engagement{data.total === 1 ? '' : 's'}
            {data.counts.byHealth &&
              ` · ${HEALTHS.map((h) => `${data.counts.byHealth![h] ?? 0} ${label(h).toLowerCase()}`).join(' · ')}`}
          </p>
          <div class="table-wrap">
            <table class="portfolio" data-testid="portfolio">
              <thead>
                <tr>
                  {COLUMNS.map((c) => (
                    <th
                      key={c.key}
                      scope="col"
                      aria-sort={sort.key === c.key ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none'}
                    >
                      <button type="button" class="sort" onClick={() => sortBy(c.key)}>
                        {c.title}
                        <span aria-hidden="true">{sort.key === c.key ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                      </button>
                    </th>
                  ))}
                  <th scope="col">Temporal</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((row) => (
                  <Row key={row.id} row={row} />
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
              Previous
            </button>
            <span>
              {data.total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE_SIZE, data.total)} of {data.total}
            </span>
            <button
              type="button"
              disabled={offset + PAGE_SIZE >= data.total}
              onClick={() => setOffset(offset + PAGE_SIZE)}
            >
              Next
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

function Row({ row }: { row: PortfolioRow }) {
  const esc = (['P1', 'P2', 'P3', 'P4'] as const).filter((s) => row.openEscalations[s] > 0);
  const overdue = row.nextMilestone && Date.parse(row.nextMilestone.at) < Date.now();
  return (
    <tr data-engagement-id={row.id}>
      <th scope="row">
        <a href={`#/engagements/${row.id}`}>{row.name}</a>
        <div class="sub">{row.clientOrganisation}</div>
      </th>
      <td>{row.vendor.legalName}</td>
      <td>{label(row.vendor.deliveryModel)}</td>
      <td data-testid="stage">
        <StageBadge stage={row.stage} />
      </td>
      <td>
        {row.phase ?? '—'}
        {row.phaseStatus === 'HELD' && <span class="tag warn"> held</span>}
      </td>
      <td class="num">{row.volumePct === null ? '—' : `${row.volumePct}%`}</td>
      <td class="num">
        {row.score === null ? '—' : row.score.toFixed(1)} <Trend trend={row.trend} />
      </td>
      <td class="num">{money(row.creditsThisQuarter, row.currency)}</td>
      <td>
        {esc.length === 0
          ? 'none'
          : esc.map((s) => (
              <span key={s} class={`sev sev-${s}`}>
                {s}×{row.openEscalations[s]}
              </span>
            ))}
      </td>
      <td>
        {row.nextMilestone ? (
          <>
            {row.nextMilestone.label}
            {/* The engagement's date: the instant carries its offset (shown on hover). */}
            <div class={overdue ? 'sub overdue' : 'sub'} title={row.nextMilestone.at}>
              {overdue ? 'overdue since ' : ''}
              {date(row.nextMilestone.at)}
            </div>
          </>
        ) : (
          '—'
        )}
      </td>
      <td>
        <HealthBadge health={row.health} />
      </td>
      <td>
        <WorkflowLink href={row.workflowUrl} what={`lifecycle of ${row.name}`} />
      </td>
    </tr>
  );
}
