import type { PrismaClient } from '../db';
import { audit } from '../audit';
import { actorOf, type Principal } from './auth';
import { conflict, notFound } from './problem';
import type { ApiRoutes } from './route';
import { createVendorBody, idParams, listVendorsQuery, updateVendorBody } from './schemas';

const include = { certifications: true, contacts: true } as const;

export function vendorRoutes(api: ApiRoutes, { prisma }: { prisma: PrismaClient }): void {
  const scope = (principal: Principal) => (principal.role === 'VENDOR' ? { id: principal.vendorId ?? '' } : {});

  api.route(
    {
      method: 'post',
      path: '/vendors',
      summary: 'Register a vendor',
      tag: 'vendors',
      roles: ['PROGRAM_MANAGER'],
      body: createVendorBody,
      responses: { 201: 'Created', 409: 'A vendor with that legal name exists' },
    },
    async ({ body, principal }) => {
      if (await prisma.vendor.findUnique({ where: { legalName: body.legalName } })) {
        throw conflict(`a vendor named "${body.legalName}" already exists`);
      }
      const vendor = await prisma.$transaction(async (tx) => {
        const created = await tx.vendor.create({
          data: {
            ...body,
            certifications: { create: body.certifications.map((c) => ({ ...c, expiresOn: new Date(c.expiresOn) })) },
            contacts: { create: body.contacts },
          },
          include,
        });
        await audit(tx, {
          actor: actorOf(principal),
          action: 'vendor.create',
          entityType: 'Vendor',
          entityId: created.id,
          after: created,
        });
        return created;
      });
      return { status: 201, body: vendor };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/vendors',
      summary: 'List vendors',
      tag: 'vendors',
      roles: [],
      query: listVendorsQuery,
      responses: { 200: 'A page of vendors' },
    },
    async ({ query, principal }) => {
      const where = { ...scope(principal), ...(query.deliveryModel ? { deliveryModel: query.deliveryModel } : {}) };
      const [items, total] = await Promise.all([
        prisma.vendor.findMany({
          where,
          include,
          orderBy: [{ legalName: 'asc' }, { id: 'asc' }],
          take: query.limit,
          skip: query.offset,
        }),
        prisma.vendor.count({ where }),
      ]);
      return { status: 200, body: { items, total, limit: query.limit, offset: query.offset } };
    },
  );

  api.route(
    {
      method: 'get',
      path: '/vendors/:id',
      summary: 'Read a vendor',
      tag: 'vendors',
      roles: [],
      params: idParams,
      responses: { 200: 'The vendor', 404: 'No such vendor' },
    },
    async ({ params, principal }) => {
      // AND, not a spread: the scope's own `id` would replace the requested one and answer with the caller's vendor.
      const vendor = await prisma.vendor.findFirst({ where: { AND: [{ id: params.id }, scope(principal)] }, include });
      if (!vendor) throw notFound(`vendor ${params.id}`);
      return { status: 200, body: vendor };
    },
  );

  api.route(
    {
      method: 'patch',
      path: '/vendors/:id',
      summary: 'Update a vendor',
      tag: 'vendors',
      roles: ['PROGRAM_MANAGER'],
      params: idParams,
      body: updateVendorBody,
      responses: { 200: 'The updated vendor', 404: 'No such vendor', 409: 'Legal name taken' },
    },
    async ({ params, body, principal }) => {
      const after = await prisma.$transaction(async (tx) => {
        // The vendor's row is locked first: two updates replacing its contacts or certifications at once would
        // otherwise each delete only the rows they saw and keep both lists.
        const locked = await tx.$queryRaw<unknown[]>`SELECT 1 FROM "Vendor" WHERE "id" = ${params.id}::uuid FOR UPDATE`;
        if (!locked.length) throw notFound(`vendor ${params.id}`);
        const before = await tx.vendor.findUniqueOrThrow({ where: { id: params.id }, include });
        if (
          body.legalName &&
          body.legalName !== before.legalName &&
          (await tx.vendor.findUnique({ where: { legalName: body.legalName } }))
        ) {
          throw conflict(`a vendor named "${body.legalName}" already exists`);
        }
        const { certifications, contacts, ...fields } = body;
        const updated = await tx.vendor.update({
          where: { id: params.id },
          data: {
            ...fields,
            ...(certifications && {
              certifications: {
                deleteMany: {},
                create: certifications.map((c) => ({ ...c, expiresOn: new Date(c.expiresOn) })),
              },
            }),
            ...(contacts && { contacts: { deleteMany: {}, create: contacts } }),
          },
          include,
        });
        await audit(tx, {
          actor: actorOf(principal),
          action: 'vendor.update',
          entityType: 'Vendor',
          entityId: params.id,
          before,
          after: updated,
        });
        return updated;
      });
      return { status: 200, body: after };
    },
  );
}
