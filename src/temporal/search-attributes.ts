import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { searchAttributeKeys } from '../../workflows/search-attributes';
import type { Logger } from '../logger';

const indexedValueType: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/**
 * Registers the product's search attributes on a cluster that lacks them (the dev server gets them as flags).
 * Idempotent: existing ones are left alone. Temporal Cloud registers them through its own console or API.
 */
export async function ensureSearchAttributes(client: Client, log: Logger): Promise<void> {
  const namespace = client.options.namespace;
  try {
    const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
    const known = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = searchAttributeKeys.filter((key) => !known.has(key.name));
    if (missing.length === 0) return;
    await client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType[key.type]])),
    });
    log.info({ added: missing.map((key) => key.name) }, 'registered search attributes');
  } catch (error) {
    log.warn({ err: error }, 'could not register search attributes: register them on the cluster by hand');
  }
}
