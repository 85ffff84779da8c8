import type { KpiDefinition } from '../src/domain/scorecard';

/** An SLA row as the pure scoring code sees it. */
export function toKpiDefinition(sla: {
  key: string;
  direction: KpiDefinition['direction'];
  target: { toNumber(): number };
  minimum: { toNumber(): number };
  weight: { toNumber(): number };
  mandatoryForGates: boolean;
}): KpiDefinition {
  return {
    key: sla.key,
    direction: sla.direction,
    target: sla.target.toNumber(),
    minimum: sla.minimum.toNumber(),
    weight: sla.weight.toNumber(),
    mandatoryForGates: sla.mandatoryForGates,
  };
}
