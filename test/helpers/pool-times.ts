/**
 * Run by test/api/query-on-pool.test.ts in a process of its own, whose time zone the test chooses (jest's
 * environment cannot change the process's): times written and read through `queryOnPool` and through Prisma, as
 * one JSON line on stdout.
 */
import { randomUUID } from 'node:crypto';
import { createPrisma, queryOnPool } from '../../src/db';
import { Prisma } from '../../src/generated/prisma/client';

async function main(databaseUrl: string) {
  const prisma = createPrisma(databaseUrl);
  try {
    const at = new Date('2026-03-08T09:30:15.123Z');
    const {
      rows: [row],
    } = await queryOnPool<{ zone: string; at: Date; day: Date; count: string }>(
      prisma,
      'round-trip',
      Prisma.sql`SELECT current_setting('TimeZone') AS zone, ${at}::timestamp(3) AS at, ${'2026-03-08'}::date AS day,
                        2::bigint AS count`,
    );
    // Written on the pool and read through Prisma, and the other way round.
    const id = randomUUID();
    const written = await queryOnPool(
      prisma,
      'audit',
      Prisma.sql`INSERT INTO "AuditLog" ("id", "actor", "action", "entityType", "entityId", "at")
                 VALUES (${id}::uuid, 'test', 'test', 'Test', 'x', ${at})`,
    );
    const prismaRead = (await prisma.auditLog.findUniqueOrThrow({ where: { id } })).at;
    const other = await prisma.auditLog.create({
      data: { actor: 'test', action: 'test', entityType: 'Test', entityId: 'y', at },
    });
    const {
      rows: [poolRead],
    } = await queryOnPool<{ at: Date }>(
      prisma,
      'audit-at',
      Prisma.sql`SELECT "at" FROM "AuditLog" WHERE "id" = ${other.id}::uuid`,
    );
    console.log(
      JSON.stringify({
        processOffsetMinutes: at.getTimezoneOffset(),
        sessionZone: row.zone,
        sent: at.toISOString(),
        selected: row.at.toISOString(),
        day: row.day.toISOString(),
        count: row.count,
        rowCount: written.rowCount,
        writtenOnPoolReadByPrisma: prismaRead.toISOString(),
        writtenByPrismaReadOnPool: poolRead.at.toISOString(),
      }),
    );
  } finally {
    await prisma.$disconnect();
  }
}

void main(process.argv[2]);
