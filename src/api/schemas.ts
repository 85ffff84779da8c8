import { z } from 'zod';

/** Request schemas: the one definition of what the API accepts. */
export const uuidParam = z.object({ id: z.uuid('must be a UUID') });

const isoDate = z.iso.date('must be an ISO 8601 date (YYYY-MM-DD)');

/** Money travels as a decimal string (or a finite number) and is stored exactly, never as a float. */
const money = z
  .union([z.string(), z.number()])
  .transform((value) => String(value))
  .refine((value) => /^\d{1,12}(\.\d{1,2})?$/.test(value), 'must be a non-negative amount with at most 2 decimals');

export const createVendorBody = z.strictObject({
  legalName: z.string().trim().min(1, 'is required').max(200),
  deliveryModel: z.enum(['ONSHORE', 'NEARSHORE', 'OFFSHORE']),
});

export const createEngagementBody = z
  .strictObject({
    vendorId: z.uuid('must be a UUID'),
    name: z.string().trim().min(1, 'is required').max(200),
    clientOrganisation: z.string().trim().min(1, 'is required').max(200),
    sourcingApproach: z.enum(['STRATEGIC', 'TACTICAL']),
    termStart: isoDate,
    termEnd: isoDate,
    monthlyFee: money,
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
  })
  .refine((e) => e.termEnd > e.termStart, { path: ['termEnd'], message: 'must be after termStart' });
