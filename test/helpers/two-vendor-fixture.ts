import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { issueApiKey } from '../../src/auth/api-keys';
import type { Role } from '../../src/generated/prisma/enums';
import { anEngagement, aVendor } from '../builders/engagement';
import { startTestApi, type TestApi } from './app';
import { createTestDatabase, type TestDatabase } from './database';
import { connectDevServer } from './temporal';

/** One vendor's ids: its engagement is CLOSED, its escalation has no workflow. */
export interface VendorIds {
  vendorId: string;
  engagementId: string;
  escalationId: string;
}

export interface TwoVendorFixture {
  db: TestDatabase;
  api: TestApi;
  env: TestWorkflowEnvironment;
  a: VendorIds;
  b: VendorIds;
  /** A raw API key of this role (vendor keys bound to `vendorId`). */
  key(role: Role, vendorId?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The API on the run's dev server with no worker, and two vendors whose ids every route can be pointed at without
 * starting anything: a closed engagement refuses to start a lifecycle, transition or governance (409), and steering
 * a workflow that does not exist answers 409 at once. So any request, valid or not, is answered without waiting.
 */
export async function startTwoVendorFixture(): Promise<TwoVendorFixture> {
  const db = await createTestDatabase();
  const env = await connectDevServer();
  const api = await startTestApi({
    prisma: db.prisma,
    databaseUrl: db.url,
    temporal: env.client,
    taskQueue: `no-worker-${randomUUID()}`,
  });
  const key = async (role: Role, vendorId?: string) =>
    (await issueApiKey(db.prisma, { name: `fixture-${role.toLowerCase()}`, role, vendorId })).key;
  const admin = await api.as('ADMIN');
  const vendor = async (): Promise<VendorIds> => {
    const vendorId = (await admin('POST', '/vendors', aVendor())).body.id as string;
    const engagementId = (await admin('POST', '/engagements', anEngagement(vendorId))).body.id as string;
    await db.prisma.engagement.update({ where: { id: engagementId }, data: { stage: 'CLOSED' } });
    const escalation = await db.prisma.escalation.create({
      data: {
        engagementId,
        severity: 'P3',
        category: 'billing',
        title: 'Invoice disputed',
        description: 'Credits for October are missing',
        raisedBy: 'program_manager:fixture',
      },
    });
    return { vendorId, engagementId, escalationId: escalation.id };
  };
  const a = await vendor();
  const b = await vendor();
  return {
    db,
    api,
    env,
    a,
    b,
    key,
    close: async () => {
      await api.close();
      await env.teardown();
      await db.drop();
    },
  };
}
