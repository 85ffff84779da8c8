import type pg from 'pg';
import { ProblemError } from './problem';

/**
 * The time zone names PostgreSQL reads as the zone they name: its zone files, less the names it reads first as an
 * abbreviation (`AT TIME ZONE 'CET'` is a fixed +01:00, where the zone CET has summer time). An engagement's zone is
 * used on both sides, by luxon in the workflows and the API and by PostgreSQL in the start statement, so it must
 * mean the same on both: ICU also takes names PostgreSQL does not know (`US/Pacific-New`, Java's `AET`) or reads
 * otherwise (`IST` is India for ICU, Israel for PostgreSQL). Read once per pool.
 */
export function postgresTimeZones(pool: pg.Pool): () => Promise<ReadonlySet<string>> {
  let names: Promise<ReadonlySet<string>> | undefined;
  return () => {
    names ??= pool
      .query<{ name: string }>(
        `SELECT name FROM pg_timezone_names
         WHERE name = 'UTC' OR name NOT IN (SELECT abbrev FROM pg_timezone_abbrevs)`,
      )
      .then(({ rows }) => new Set(rows.map((r) => r.name)));
    // A failed read (the database unreachable) is tried again next time.
    names.catch(() => (names = undefined));
    return names;
  };
}

/** Refuses a zone PostgreSQL would not read as the zone it names, with the field and the reason. */
export async function requirePostgresTimeZone(
  zones: () => Promise<ReadonlySet<string>>,
  timeZone: string,
  field: string,
): Promise<void> {
  if ((await zones()).has(timeZone)) return;
  const reason = 'must be an IANA time zone name (Area/Location, or UTC) that PostgreSQL reads as that zone';
  throw new ProblemError(400, 'Invalid request', `${field}: ${reason}`, [{ field, reason }]);
}
