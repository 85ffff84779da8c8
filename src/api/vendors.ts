import { Router } from 'express';
import type { PrismaClient } from '../db';
import { conflict } from './problem';
import { createVendorBody } from './schemas';
import { parseBody } from './validate';

export function vendorsRouter(deps: { prisma: PrismaClient }): Router {
  const router = Router();
  router.post('/vendors', async (req, res) => {
    const body = parseBody(createVendorBody, req);
    const existing = await deps.prisma.vendor.findUnique({ where: { legalName: body.legalName } });
    if (existing) throw conflict(`a vendor named "${body.legalName}" already exists`);
    res.status(201).json(await deps.prisma.vendor.create({ data: body }));
  });
  router.get('/vendors', async (_req, res) => {
    res.json({ items: await deps.prisma.vendor.findMany({ orderBy: { legalName: 'asc' } }) });
  });
  return router;
}
