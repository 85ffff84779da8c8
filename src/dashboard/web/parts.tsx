import type { ComponentChildren } from 'preact';
import { ApiError } from './api';
import { label } from './format';

const HEALTH_MARK = { GOOD: '●', AT_RISK: '▲', CRITICAL: '■' } as const;

/** Health as text and shape as well as colour. */
export function HealthBadge({ health }: { health: 'GOOD' | 'AT_RISK' | 'CRITICAL' }) {
  return (
    <span class={`health health-${health}`}>
      <span aria-hidden="true">{HEALTH_MARK[health]} </span>
      {label(health)}
    </span>
  );
}

export function StageBadge({ stage }: { stage: string }) {
  return <span class={`stage stage-${stage}`}>{label(stage)}</span>;
}

export function Trend({ trend }: { trend: 'up' | 'down' | 'flat' | null }) {
  if (!trend) return null;
  const mark = { up: '↑', down: '↓', flat: '→' }[trend];
  return (
    <span class={`trend trend-${trend}`} title={`trend ${trend}`}>
      <span aria-hidden="true">{mark}</span>
      <span class="visually-hidden">trend {trend}</span>
    </span>
  );
}

export function WorkflowLink({ href, what }: { href: string; what: string }) {
  return (
    <a href={href} target="_blank" rel="noreferrer" aria-label={`Open the ${what} in the Temporal Web UI`}>
      Workflow ↗
    </a>
  );
}

/** The API's own reason for a refusal or failure. */
export function Problem({ error }: { error: Error }) {
  return (
    <p role="alert" class="error" data-testid="problem">
      {error instanceof ApiError ? `${error.status} ${error.title}: ${error.message}` : error.message}
    </p>
  );
}

export function Section(props: {
  id: string;
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card" aria-labelledby={props.id}>
      <div class="card-head">
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

/** A table's column headings. */
export function ColumnHeads({ columns }: { columns: ComponentChildren[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th key={i} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}
