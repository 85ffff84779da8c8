import { status } from '@grpc/grpc-js';
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
  const operator = client.connection.operatorService;
  try {
    const known = await operator
      .listSearchAttributes({ namespace })
      .then((existing) => new Set(Object.keys(existing.customAttributes ?? {})))
      // The Java time-skipping test server can add search attributes but not list them.
      .catch((error: { code?: number }) =>
        error.code === status.UNIMPLEMENTED ? new Set<string>() : Promise.reject(error),
      );
    const missing = searchAttributeKeys.filter((key) => !known.has(key.name));
    for (const key of missing) {
      await operator
        .addSearchAttributes({ namespace, searchAttributes: { [key.name]: indexedValueType[key.type] } })
        .catch((error: { code?: number }) =>
          error.code === status.ALREADY_EXISTS ? undefined : Promise.reject(error),
        );
    }
    if (missing.length) log.info({ added: missing.map((key) => key.name) }, 'registered search attributes');
  } catch (error) {
    log.warn({ err: error }, 'could not register search attributes: register them on the cluster by hand');
  }
}
