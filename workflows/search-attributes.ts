import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes kept current by the workflows, so the Temporal Web UI can list
 * "every engagement in wave 2" or filter by vendor. Registered at start-up (dev server flags or the operator API).
 */
export const EngagementIdKey = defineSearchAttributeKey('BpoEngagementId', SearchAttributeType.KEYWORD);
export const VendorIdKey = defineSearchAttributeKey('BpoVendorId', SearchAttributeType.KEYWORD);
export const StageKey = defineSearchAttributeKey('BpoStage', SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey('BpoPhase', SearchAttributeType.KEYWORD);
export const VolumePctKey = defineSearchAttributeKey('BpoVolumePct', SearchAttributeType.INT);

export const searchAttributeKeys = [EngagementIdKey, VendorIdKey, StageKey, PhaseKey, VolumePctKey];
