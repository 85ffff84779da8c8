import { issueApiKey } from '../auth/api-keys';
import { audit } from '../audit';
import type { PrismaClient } from '../db';
import { actorOf, type KeyHolder } from './auth';
import { conflict, notFound, ProblemError } from './problem';
import type { ReadCache } from './read-cache';
import type { ApiRoutes } from './route';
import { createApiKeyBody, idParams } from './schemas';

export function apiKeyRoutes(
  api: ApiRoutes,
  { prisma, holders }: { prisma: PrismaClient; holders: ReadCache<KeyHolder> },
): void {
  api.route(
    {
      method: 'post',
      path: '/api-keys',
      summary: 'Issue an API key (shown once)',
      tag: 'access',
      roles: ['ADMIN'],
      body: createApiKeyBody,
      responses: { 201: 'The key, shown only in this response', 422: 'The vendor does not exist' },
    },
    async ({ body, principal }) => {
      if (body.vendorId && !(await prisma.vendor.findUnique({ where: { id: body.vendorId } }))) {
        throw new ProblemError(422, 'Unprocessable Content', 'body.vendorId: no such vendor', [
          { field: 'body.vendorId', reason: 'no such vendor' },
        ]);
      }
      const issued = await prisma.$transaction(async (tx) => {
        const key = await issueApiKey(tx, body);
        await audit(tx, {
          actor: actorOf(principal),
          action: 'api-key.issue',
          entityType: 'ApiKey',
          entityId: key.id,
          after: { name: body.name, role: body.role, vendorId: body.vendorId },
        });
        return key;
      });
      return {
        status: 201,
        body: { id: issued.id, key: issued.key, name: body.name, role: body.role, vendorId: body.vendorId ?? null },
      };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/api-keys',
      summary: 'List API keys (never the keys themselves)',
      tag: 'access',
      roles: ['ADMIN'],
      responses: { 200: 'API keys' },
    },
    async () => {
      const items = await prisma.apiKey.findMany({
        select: { id: true, name: true, role: true, vendorId: true, createdAt: true, revokedAt: true },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      });
      return { status: 200, body: { items } };
    },
  );

  api.route(
    {
      method: 'delete',
      path: '/api-keys/:id',
      summary: 'Revoke an API key: refused from the next request on (a repeat is harmless)',
      tag: 'access',
      roles: ['ADMIN'],
      params: idParams,
      responses: {
        200: 'The key, revoked',
        404: 'No such key',
        409: 'The last active ADMIN key: no one could issue or revoke keys after it',
      },
    },
    async ({ params, principal }) => {
      const revoked = await prisma.$transaction(async (tx) => {
        // The active admin keys, locked: two admins revoking each other's keys at once cannot both succeed.
        const admins = await tx.$queryRaw<Array<{ id: string }>>`
          SELECT "id" FROM "ApiKey" WHERE "role" = 'ADMIN' AND "revokedAt" IS NULL ORDER BY "id" FOR UPDATE`;
        if (admins.length === 1 && admins[0].id === params.id) {
          throw conflict(
            'this is the last active ADMIN key: revoking it would leave no one able to issue or revoke keys; ' +
              'issue another ADMIN key first (or run npm run create-admin-key on the server)',
          );
        }
        // Only the first of concurrent revocations changes the row and writes the audit entry.
        const { count } = await tx.apiKey.updateMany({
          where: { id: params.id, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        const key = await tx.apiKey.findUnique({ where: { id: params.id } });
        if (!key) throw notFound(`API key ${params.id}`);
        if (count === 1) {
          await audit(tx, {
            actor: actorOf(principal),
            action: 'api-key.revoke',
            entityType: 'ApiKey',
            entityId: key.id,
            after: { revokedAt: key.revokedAt },
          });
        }
        return key;
      });
      holders.forget(revoked.keyHash);
      const { id, name, role, vendorId, createdAt, revokedAt } = revoked;
      return { status: 200, body: { id, name, role, vendorId, createdAt, revokedAt } };
    },
  );
}
