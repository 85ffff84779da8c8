import { startApiFixture } from '../helpers/api-fixture';

/** What a browser fetches before anyone signs in: the page shell and its icon, without an API key. */
describe('dashboard shell', () => {
  let f: Awaited<ReturnType<typeof startApiFixture>>;
  beforeAll(async () => {
    f = await startApiFixture();
  });
  afterAll(() => f?.close());

  it('serves the page with an inline icon, and answers the icon browsers ask for on their own without a 401', async () => {
    const page = await fetch(`${f.api.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<link rel="icon" href="data:image\/svg\+xml,/);
    const icon = await fetch(`${f.api.url}/favicon.ico`);
    expect(icon.status).toBe(204);
  });
});
