import { v7 } from 'uuid';

/**
 * A new row id: a time-ordered UUID (version 7), as the schema's `@default(uuid(7))` gives the rows Prisma creates.
 * Ids that follow one another land next to one another in a B-tree: PostgreSQL's primary keys and the Temporal
 * store's workflow ids (`engagement-<id>-lifecycle`) take appends instead of inserts at random pages.
 */
export const newId = (): string => v7();
