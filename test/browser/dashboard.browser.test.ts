import type { Browser, Page } from 'playwright-core';
import { issueApiKey } from '../../src/auth/api-keys';
import type { ExitStepKind } from '../../src/domain/renewal';
import { loadDemoPortfolio } from '../../src/seed/load';
import { anEngagement, aVendor } from '../builders/engagement';
import { launchChromium, openDashboard, screenshot } from '../helpers/browser';
import { startDevStack, type DevStack } from '../helpers/dev-worker';

const TASK_QUEUE = 'dashboard-browser';
const STAGE_LABEL: Record<string, string> = {
  CONTRACTED: 'Contracted',
  TRANSITION: 'Transition',
  STEADY_STATE: 'Steady state',
  RENEWAL: 'Renewal',
  EXIT: 'Exit',
  CLOSED: 'Closed',
};

/** The portfolio table as the page shows it: engagement name → stage text. */
async function portfolioStages(page: Page): Promise<Map<string, string>> {
  const rows = page.locator('tr[data-engagement-id]');
  const pairs = await rows.evaluateAll((trs) =>
    trs.map((tr) => [tr.getAttribute('data-engagement-id')!, tr.querySelector('[data-testid=stage]')!.textContent!]),
  );
  return new Map(pairs as Array<[string, string]>);
}

describe('the web dashboard, in Chromium, against the running app with the seed data', () => {
  let stack: DevStack;
  let browser: Browser;
  let pmKey: string;

  beforeAll(async () => {
    stack = await startDevStack(TASK_QUEUE);
    await loadDemoPortfolio(stack.db.prisma, { engagements: 30 });
    pmKey = (await issueApiKey(stack.db.prisma, { name: 'pat-pm', role: 'PROGRAM_MANAGER' })).key;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('lists every engagement of the portfolio with its stage', async () => {
    const page = await openDashboard(browser, stack.api.url, pmKey);
    await page.getByTestId('portfolio').waitFor();
    const expected = await stack.db.prisma.engagement.findMany({ select: { id: true, stage: true } });
    expect(expected).toHaveLength(30);

    const shown = await portfolioStages(page);
    expect(shown.size).toBe(30);
    for (const e of expected) expect(shown.get(e.id)).toBe(STAGE_LABEL[e.stage]);
    await expect(page.getByTestId('portfolio-summary').textContent()).resolves.toMatch(/^30 engagements/);

    // sorting and filtering are the server's: the stage filter leaves only that stage
    await page.getByLabel('Stage').selectOption('EXIT');
    await page.waitForFunction("document.querySelectorAll('tr[data-engagement-id]').length === 4");
    expect(new Set((await portfolioStages(page)).values())).toEqual(new Set(['Exit']));
    await page.getByLabel('Stage').selectOption('');
    await page.waitForFunction("document.querySelectorAll('tr[data-engagement-id]').length === 30");
    await screenshot(page, 'portfolio');
    await page.close();
  });

  it('a vendor key sees only its own engagements', async () => {
    const vendor = await stack.db.prisma.vendor.findFirstOrThrow({
      where: { engagements: { some: {} } },
      include: { _count: { select: { engagements: true } } },
    });
    const { key } = await issueApiKey(stack.db.prisma, { name: 'vera-vendor', role: 'VENDOR', vendorId: vendor.id });
    const page = await openDashboard(browser, stack.api.url, key);
    await page.getByTestId('portfolio').waitFor();

    const own = await stack.db.prisma.engagement.findMany({ where: { vendorId: vendor.id }, select: { id: true } });
    expect(own.length).toBeLessThan(30);
    const shown = await portfolioStages(page);
    expect([...shown.keys()].sort()).toEqual(own.map((e) => e.id).sort());
    // another vendor's engagement page is not found for this key
    const other = await stack.db.prisma.engagement.findFirstOrThrow({ where: { vendorId: { not: vendor.id } } });
    await page.goto(`${stack.api.url}/#/engagements/${other.id}`);
    await expect(page.getByTestId('problem').textContent()).resolves.toContain('404');
    await page.close();
  });

  it('a gate approved in the page moves the phase and then the stage without a reload; a refused action shows the reason', async () => {
    const pm = await stack.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor({ legalName: 'Gatehouse BPO Ltd' }))).body.id;
    const { body: engagement } = await pm(
      'POST',
      '/engagements',
      anEngagement(vendorId, { name: 'Claims intake pilot' }),
    );
    const started = await pm('POST', `/engagements/${engagement.id}/transition`, {
      phases: [
        { kind: 'PILOT', name: 'pilot', volumePct: 25, minDuration: '30d' },
        { kind: 'RAMP_WAVE', name: 'full-volume', volumePct: 100, minDuration: '30d' },
      ],
    });
    expect(started.status).toBe(202);

    const page = await openDashboard(browser, stack.api.url, pmKey);
    await page.goto(`${stack.api.url}/#/engagements/${engagement.id}`);
    const phase = page.getByTestId('transition-phase');
    await expect(phase.filter({ hasText: 'pilot (Active)' }).waitFor()).resolves.toBeUndefined();
    // The stage moved just before the phase started; a refresh can read the engagement a moment before the phases
    // (the page loads them side by side), so the stage may follow a refresh later.
    await expect(
      page.getByTestId('engagement-stage').filter({ hasText: 'Transition' }).waitFor(),
    ).resolves.toBeUndefined();
    await page.evaluate("window.marker = 'same page'");

    // refused: overriding a gate that has not failed; the page shows the API's reason
    await expect(page.getByRole('button', { name: 'Resume' }).count()).resolves.toBe(0);
    await page.getByLabel('Override reason').fill('vendor asked');
    await page.getByRole('button', { name: 'Override gate' }).click();
    const refusal = page.getByTestId('problem');
    await expect(refusal.textContent()).resolves.toBe('409 Conflict: only a failed (held) gate can be overridden');

    await page.getByRole('button', { name: 'Approve gate' }).click();
    await phase.filter({ hasText: 'full-volume (Active)' }).waitFor();
    await page.getByRole('button', { name: 'Approve gate' }).click();
    await page.getByTestId('engagement-stage').filter({ hasText: 'Steady state' }).waitFor();
    await expect(page.getByTestId('transition-status').textContent()).resolves.toBe('Completed');
    // no reload happened: the marker set on the page is still there
    await expect(page.evaluate('window.marker')).resolves.toBe('same page');

    const gates = await stack.db.prisma.gateEvaluation.findMany({
      where: { phase: { plan: { engagementId: engagement.id } } },
    });
    expect(gates.map((g) => g.overriddenBy ?? g.passed)).toEqual([
      expect.stringContaining('pat-pm'),
      expect.stringContaining('pat-pm'),
    ]);
    // the gate table says what happened: approved early, not overridden
    const gateTable = page.locator('table', { has: page.locator('caption', { hasText: 'Gate evaluations' }) });
    const results = await gateTable.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(results).toEqual([
      expect.stringMatching(/^approved early by /),
      expect.stringMatching(/^approved early by /),
    ]);
    await page.close();
  });

  it('an engagement page shows its timeline, KPI charts and reviews, starts its lifecycle and links to its workflow', async () => {
    const engagement = await stack.db.prisma.engagement.findFirstOrThrow({
      where: { stage: 'STEADY_STATE', reviews: { some: {} } },
      include: { slas: true },
    });
    const page = await openDashboard(browser, stack.api.url, pmKey);
    await page.goto(`${stack.api.url}/#/engagements/${engagement.id}`);
    await page.getByRole('heading', { name: engagement.name, level: 1 }).waitFor();
    await expect(page.locator('[aria-current=step] .step-name').textContent()).resolves.toBe('Steady state');
    await expect(page.locator('figure.kpi canvas').count()).resolves.toBe(engagement.slas.length);
    await expect(page.locator('section[aria-labelledby=reviews] tbody tr').count()).resolves.toBe(3);
    // The seed loads facts, not workflows: no link to a workflow that does not exist, a start instead.
    const link = page.getByRole('link', { name: 'Open the engagement lifecycle in the Temporal Web UI' });
    await expect(link.count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Start lifecycle' }).click();
    await link.waitFor();
    await expect(link.getAttribute('href')).resolves.toBe(
      `${stack.api.config.temporal.uiUrl}/namespaces/default/workflows/engagement-${engagement.id}-lifecycle`,
    );
    await expect(page.getByRole('button', { name: 'Start lifecycle' }).count()).resolves.toBe(0);
    const started = await stack.env.client.workflow.getHandle(`engagement-${engagement.id}-lifecycle`).describe();
    expect(started.type).toBe('engagementLifecycle');
    await screenshot(page, 'engagement');
    await page.close();
  });

  it('shows an engagement whose reads answer slower than the page refreshes, and asks no more while they run', async () => {
    // given reads that take 4 s, longer than the 3 s between refreshes (the API waiting out an unreachable Temporal)
    const engagement = await stack.db.prisma.engagement.findFirstOrThrow({ where: { stage: 'STEADY_STATE' } });
    const page = await openDashboard(browser, stack.api.url, pmKey);
    let asked = 0;
    await page.route(`**/engagements/${engagement.id}`, async (route) => {
      asked++;
      await new Promise((resolve) => setTimeout(resolve, 4000));
      await route.continue();
    });

    // when the engagement is opened, it is shown (every load used to be dropped for the next tick's: "Loading…" for
    // good, and a new set of requests every 3 s)
    await page.goto(`${stack.api.url}/#/engagements/${engagement.id}`);
    await page.getByRole('heading', { name: engagement.name, level: 1 }).waitFor({ timeout: 15_000 });
    // one load at a time: the first, and at most the one the next tick started once it had ended
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(asked).toBeLessThanOrEqual(2);
    await page.close();
  });

  it('an engagement page shows every open escalation, keeps what is typed per escalation, and the latest renewal evaluation', async () => {
    // given an engagement with two open escalations raised before 25 resolved ones, and two terms' evaluations
    const pm = await stack.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Busy escalations' }));
    const at = (minutes: number) => new Date(Date.now() - 86_400_000 + minutes * 60_000);
    const row = (title: string, minutes: number, resolved: boolean) => ({
      engagementId: e.id,
      severity: 'P3' as const,
      category: 'reporting',
      title,
      description: title,
      raisedBy: 'vendor:test',
      raisedAt: at(minutes),
      ...(resolved && { status: 'RESOLVED' as const, resolvedAt: at(minutes + 1), resolution: 'done' }),
    });
    await stack.db.prisma.escalation.createMany({
      data: [
        row('Old open one', 0, false),
        row('Old open two', 1, false),
        ...Array.from({ length: 25 }, (_, i) => row(`Resolved ${i}`, 10 + i, true)),
      ],
    });
    const evaluation = (termEnd: string, recommendation: 'RENEW' | 'EXIT', reason: string) => ({
      engagementId: e.id,
      termEnd: new Date(termEnd),
      recommendation,
      reasons: [reason],
      scorecard: {},
    });
    await stack.db.prisma.renewalEvaluation.createMany({
      data: [
        evaluation('2025-12-31', 'RENEW', 'first term went well'),
        evaluation('2026-12-31', 'EXIT', 'second term missed its targets'),
      ],
    });

    // when the page is open
    const page = await openDashboard(browser, stack.api.url, pmKey);
    await page.goto(`${stack.api.url}/#/engagements/${e.id}`);
    await page.getByRole('heading', { name: 'Busy escalations', level: 1 }).waitFor();

    // then both open escalations are there to act on, with the 20 latest resolved ones
    const items = page.locator('section[aria-labelledby=escalations] li[data-escalation-id]');
    await items.first().waitFor();
    await expect(items.count()).resolves.toBe(22);
    const one = page.getByRole('group', { name: 'Act on escalation Old open one' });
    const two = page.getByRole('group', { name: 'Act on escalation Old open two' });
    await one.getByLabel('Resolution').fill('re-sent the report');
    await expect(one.getByLabel('Resolution').inputValue()).resolves.toBe('re-sent the report');
    await expect(two.getByLabel('Resolution').inputValue()).resolves.toBe('');
    // and the renewal shows the newest term's recommendation
    await expect(page.getByText(/^Recommendation for the term ending/).textContent()).resolves.toMatch(
      /second term missed its targets/,
    );
    await page.close();
  });

  it('a renewal decided in the page sends a renegotiated fee; a recorded decision shows its channel, reason and fee', async () => {
    // given an engagement whose lifecycle waits for the renewal decision (its live state, as the workflow reports it)
    const pm = await stack.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Renewal due' }));
    const executiveKey = (await issueApiKey(stack.db.prisma, { name: 'eve-exec', role: 'EXECUTIVE' })).key;
    const page = await openDashboard(browser, stack.api.url, executiveKey);
    await page.route(`**/engagements/${e.id}`, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      const milestones = {
        evaluationAt: '2028-08-01T00:00:00.000Z',
        councilEscalationAt: '2028-09-01T00:00:00.000Z',
        noticeDeadline: '2028-10-02T00:00:00.000Z',
        termEnd: '2028-12-31T00:00:00.000Z',
      };
      const renewal = { recommendation: 'RENEGOTIATE', reasons: ['volume grew by half'] };
      await route.fulfill({
        response,
        json: { ...body, lifecycle: { stage: 'RENEWAL', term: 1, milestones, renewal } },
      });
    });
    const sent: unknown[] = [];
    await page.route(`**/engagements/${e.id}/renewal-decision`, async (route) => {
      sent.push(route.request().postDataJSON());
      await route.fulfill({ status: 200, json: {} });
    });

    // when the executive types a new fee for a renegotiation, then renews instead
    await page.goto(`${stack.api.url}/#/engagements/${e.id}`);
    const form = page.getByRole('form', { name: 'Record the renewal decision' });
    await form.waitFor();
    const fee = form.getByLabel(/New monthly fee/);
    await expect(fee.count()).resolves.toBe(0);
    const decision = form.getByLabel('Decision');
    await decision.selectOption('RENEGOTIATE');
    // (the fee field says what an empty one means)
    await expect(fee.getAttribute('aria-describedby')).resolves.toBe('renegotiated-fee-hint');
    await expect(page.locator('#renegotiated-fee-hint').textContent()).resolves.toMatch(/keeps [\d,.]+ USD/);
    await fee.fill('12500.50');
    await form.getByLabel('Reason').fill('volume grew, price per unit falls');
    await decision.selectOption('RENEW');
    const submit = async () => {
      const request = page.waitForRequest((r) => r.url().endsWith('/renewal-decision'));
      await form.getByRole('button', { name: 'Record decision' }).click();
      await request;
    };
    await submit();
    // and then renegotiates at that fee after all
    await decision.selectOption('RENEGOTIATE');
    await submit();

    // then the renewal goes without the fee, and the renegotiation with it
    expect(sent).toEqual([
      { decision: 'RENEW', reason: 'volume grew, price per unit falls' },
      { decision: 'RENEGOTIATE', reason: 'volume grew, price per unit falls', newMonthlyFee: '12500.50' },
    ]);
    // (a refresh may be on its way through the handlers: they are let go before the page closes)
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.close();

    // and given the decision recorded for the term, with no lifecycle running any more
    await stack.db.prisma.renewalEvaluation.create({
      data: {
        engagementId: e.id,
        termEnd: new Date('2028-12-31'),
        recommendation: 'RENEGOTIATE',
        reasons: ['volume grew by half'],
        scorecard: {},
        decision: 'RENEGOTIATE',
        decidedBy: 'executive:eve-exec',
        decidedAt: new Date('2028-09-15T10:00:00Z'),
        decidedVia: 'executive',
        decisionReason: 'volume grew, price per unit falls',
        newMonthlyFee: '12500.50',
      },
    });
    // when the page is opened again
    const again = await openDashboard(browser, stack.api.url, pmKey);
    await again.goto(`${stack.api.url}/#/engagements/${e.id}`);
    // then it shows what was decided, by whom, through which channel, why, and at what fee
    const recorded = again.getByTestId('recorded-renewal-decision');
    await recorded.waitFor();
    await expect(recorded.textContent()).resolves.toBe(
      'Decided for the term ending 2028-12-31: Renegotiate by executive:eve-exec (executive): volume grew, price ' +
        'per unit falls — new monthly fee 12,500.50 USD on 2028-09-15',
    );
    await again.close();
  });

  it('an exit step is completed in the page with the evidence typed for it; the deletion step asks for its certificate', async () => {
    // given an engagement exiting, its plan stored, the knowledge re-transfer done
    const pm = await stack.api.as('PROGRAM_MANAGER');
    const vendorId = (await pm('POST', '/vendors', aVendor())).body.id;
    const { body: e } = await pm('POST', '/engagements', anEngagement(vendorId, { name: 'Exiting' }));
    const step = (kind: ExitStepKind, owner: string, dueOn: string) => ({ kind, owner, dueOn: new Date(dueOn) });
    await stack.db.prisma.exitPlan.create({
      data: {
        engagementId: e.id,
        reason: 'renewal decided: EXIT',
        steps: {
          create: [
            {
              ...step('KNOWLEDGE_RETRANSFER', 'vendor delivery head', '2030-01-10'),
              completedAt: new Date('2030-01-08T09:00:00Z'),
              completedBy: 'vendor:acme',
              evidence: 'runbooks signed over',
            },
            step('DATA_RETURN_AND_DELETION', 'vendor security officer', '2030-01-20'),
            step('ACCESS_REVOCATION', 'client IT security', '2030-01-30'),
          ],
        },
      },
    });
    const page = await openDashboard(browser, stack.api.url, pmKey);
    const sent: Array<{ path: string; body: unknown }> = [];
    await page.route(`**/engagements/${e.id}/exit-steps/*/complete`, async (route) => {
      sent.push({ path: new URL(route.request().url()).pathname, body: route.request().postDataJSON() });
      await route.fulfill({ status: 200, json: {} });
    });
    await page.goto(`${stack.api.url}/#/engagements/${e.id}`);
    const exit = page.getByRole('region', { name: 'Exit', exact: true });
    await exit.waitFor();

    // then the done step shows its evidence, and the deletion's field says what it must carry
    const rows = exit.locator('tbody tr');
    await expect(rows.nth(0).locator('td').nth(4).textContent()).resolves.toBe('runbooks signed over');
    const certificate = exit.getByLabel('Evidence for Data return and deletion');
    await expect(certificate.getAttribute('placeholder')).resolves.toBe(
      'the reference of the certificate of data deletion',
    );
    await expect(certificate.evaluate((input) => (input as unknown as { required: boolean }).required)).resolves.toBe(
      true,
    );
    await expect(
      exit
        .getByLabel('Evidence for Access revocation')
        .evaluate((input) => (input as unknown as { required: boolean }).required),
    ).resolves.toBe(false);

    // and its Complete waits for the certificate's reference (blank counts as none)
    const completeDeletion = rows.nth(1).getByRole('button', { name: 'Complete' });
    await expect(completeDeletion.isDisabled()).resolves.toBe(true);
    await certificate.fill('   ');
    await expect(completeDeletion.isDisabled()).resolves.toBe(true);

    // when the certificate's reference is typed and the step completed, and access revocation completed with none
    await certificate.fill('DEL-CERT-2030-014');
    await expect(completeDeletion.isDisabled()).resolves.toBe(false);
    const complete = async (row: number) => {
      const request = page.waitForRequest((r) => r.url().endsWith('/complete'));
      await rows.nth(row).getByRole('button', { name: 'Complete' }).click();
      await request;
    };
    await complete(1);
    await complete(2);

    // then each step went with what was typed for it, and nothing for the other
    expect(sent).toEqual([
      {
        path: `/engagements/${e.id}/exit-steps/DATA_RETURN_AND_DELETION/complete`,
        body: { evidence: 'DEL-CERT-2030-014' },
      },
      { path: `/engagements/${e.id}/exit-steps/ACCESS_REVOCATION/complete`, body: {} },
    ]);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.close();
  });
});
