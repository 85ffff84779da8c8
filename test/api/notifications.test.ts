import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNotificationActivities } from '../../activities/notifications';
import { signWebhook, WebhookNotifier, type Notice } from '../../src/notify/notifier';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

const SECRET = 'a-shared-secret-of-some-length';

/** The webhook notifier against a real HTTP receiver on loopback. */
describe('webhook notifications', () => {
  let db: TestDatabase;
  let server: Server;
  let url: string;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        if (req.url?.startsWith('/moved')) res.writeHead(302, { location: '/landing' }).end();
        else if (req.url === '/landing') res.writeHead(200).end('a page');
        else if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end();
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/bpo`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await db.drop();
  });
  beforeEach(() => {
    received.length = 0;
  });

  const notice = (eventKey: string): Notice => ({
    eventKey,
    recipient: { role: 'account manager', email: 'am@vendor.example' },
    subject: '[P1] IVR down: escalated to you',
    body: 'Escalation climbed to level 2.',
  });

  it('signs the payload so the receiver can verify it', async () => {
    const { notify } = createNotificationActivities(db.prisma, [new WebhookNotifier(url, SECRET)]);
    await notify(notice('evt-signed'));
    const [{ headers, body }] = received;
    expect(headers['x-bpo-event-id']).toBe('evt-signed');
    expect(headers['x-bpo-signature']).toBe(signWebhook(SECRET, String(headers['x-bpo-timestamp']), body));
    expect(headers['x-bpo-signature']).not.toBe(
      signWebhook('another-secret-entirely!!', String(headers['x-bpo-timestamp']), body),
    );
    expect(JSON.parse(body).subject).toBe('[P1] IVR down: escalated to you');
  });

  it('fails while the receiver fails (so Temporal retries the activity), and is sent once it succeeds', async () => {
    const { notify } = createNotificationActivities(db.prisma, [new WebhookNotifier(url, SECRET)]);
    failuresLeft = 2;
    await expect(notify(notice('evt-retried'))).rejects.toThrow('answered 503');
    await expect(notify(notice('evt-retried'))).rejects.toThrow('answered 503');
    await expect(notify(notice('evt-retried'))).resolves.toEqual({ sent: true });
    expect(received.map((r) => r.headers['x-bpo-event-id'])).toEqual(['evt-retried', 'evt-retried', 'evt-retried']);
    expect(await db.prisma.notification.count({ where: { eventKey: 'evt-retried' } })).toBe(1);
  });

  it('counts a redirect as a failure, not a delivery, and names no URL in its error', async () => {
    // A followed 302 would turn the POST into a GET without the notice, answered 200 by the page it lands on.
    const moved = `http://127.0.0.1:${(server.address() as AddressInfo).port}/moved?token=s3cret-in-the-url`;
    const { notify } = createNotificationActivities(db.prisma, [new WebhookNotifier(moved, SECRET)]);
    const failure = await notify(notice('evt-redirected')).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe(
      `webhook at 127.0.0.1:${(server.address() as AddressInfo).port} answered 302`,
    );
    expect(received.map((r) => r.headers['x-bpo-event-id'])).toEqual(['evt-redirected']);
    expect(await db.prisma.notification.count({ where: { eventKey: 'evt-redirected' } })).toBe(0);
  });

  it('does not send an event again once it was delivered', async () => {
    const { notify } = createNotificationActivities(db.prisma, [new WebhookNotifier(url, SECRET)]);
    await notify(notice('evt-once'));
    await expect(notify(notice('evt-once'))).resolves.toEqual({ sent: false });
    expect(received).toHaveLength(1);
  });
  it('addresses a notice for a council role to the engagement’s council member in that role', async () => {
    // given an engagement whose council has an executive sponsor
    const vendor = await db.prisma.vendor.create({
      data: { legalName: 'Addressed BPO', deliveryModel: 'ONSHORE', serviceLines: ['BACK_OFFICE'] },
    });
    const e = await db.prisma.engagement.create({
      data: {
        vendorId: vendor.id,
        name: 'Payroll',
        clientOrganisation: 'Globex',
        processesInScope: ['payroll'],
        sourcingApproach: 'STRATEGIC',
        termStart: new Date('2026-01-01'),
        termEnd: new Date('2028-01-01'),
        monthlyFee: '1000.00',
        currency: 'USD',
        renewalNoticeDays: 90,
        atRiskPct: '10.00',
        councilMembers: {
          create: [
            { name: 'Fin', email: 'fin@globex.example', role: 'FINANCE' },
            { name: 'Sam', email: 'sam@globex.example', role: 'EXECUTIVE_SPONSOR' },
          ],
        },
      },
    });
    const sent: Notice[] = [];
    const { notify } = createNotificationActivities(db.prisma, [
      { channel: 'test', send: async (n: Notice) => void sent.push(n) },
    ]);

    // when the renewal notice goes to "executive sponsor", and another to a role nobody on the council holds
    await notify({ ...notice('evt-renewal'), engagementId: e.id, recipient: { role: 'executive sponsor' } });
    await notify({ ...notice('evt-other'), engagementId: e.id, recipient: { role: 'delivery head' } });

    // then the first is addressed to the sponsor by name and email, also as recorded; the other is left as it was
    expect(sent.map((n) => n.recipient)).toEqual([
      { role: 'executive sponsor', name: 'Sam', email: 'sam@globex.example' },
      { role: 'delivery head' },
    ]);
    const stored = await db.prisma.notification.findUniqueOrThrow({ where: { eventKey: 'evt-renewal' } });
    expect((stored.payload as unknown as Notice).recipient.email).toBe('sam@globex.example');
  });
});
