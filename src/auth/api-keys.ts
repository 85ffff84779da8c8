import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../db';
import type { Role } from '../generated/prisma/enums';

/** API keys are random 32-byte secrets shown once; only their SHA-256 is stored (high entropy needs no slow hash). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function issueApiKey(
  prisma: Pick<PrismaClient, 'apiKey'>,
  input: { name: string; role: Role; vendorId?: string | null },
): Promise<{ id: string; key: string }> {
  const key = `bpo_${input.role.toLowerCase()}_${randomBytes(32).toString('base64url')}`;
  const row = await prisma.apiKey.create({
    data: { name: input.name, role: input.role, vendorId: input.vendorId ?? null, keyHash: hashApiKey(key) },
  });
  return { id: row.id, key };
}
