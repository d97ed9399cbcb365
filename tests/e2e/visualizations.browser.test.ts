import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { associationMachine } from '../../machines/association.ts';
import { batchMachine } from '../../machines/batch.ts';
import { type ServedApp, launchChromium, serveForBrowser } from '../support/browser.ts';
import { harnessForSuite } from '../support/harness.ts';

function stateKeys(node: { key: string; states: Record<string, any> }): string[] {
  return Object.values(node.states).flatMap((child) => [child.key, ...stateKeys(child)]);
}

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('the statechart pages', () => {
  const harness = harnessForSuite({ label: 'visualizations' });
  let served: ServedApp;
  let base: string;
  let browser: Browser;
  let shots: string;

  beforeAll(async () => {
    served = await serveForBrowser(harness);
    base = served.base;
    browser = await launchChromium();
    shots = await mkdtemp(join(tmpdir(), 'visualizations-'));
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  it('serves the pages, the diagram sources and the Mermaid bundle without a token', async () => {
    const index = await fetch(`${base}/visualizations`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await index.text();
    expect(html).toContain('href="/visualizations/batch"');
    expect(html).toContain('href="/visualizations/association"');

    const mmd = await fetch(`${base}/visualizations/batch.mmd`);
    expect(mmd.status).toBe(200);
    expect(await mmd.text()).toBe(await readFile(new URL('../../visualizations/batch.mmd', import.meta.url), 'utf8'));

    const json = await fetch(`${base}/visualizations/association.json`);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await json.json()).id).toBe('association');

    const bundle = await fetch(`${base}/visualizations/assets/mermaid.min.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toContain('globalThis["mermaid"]');
  });

  it('answers 404 for charts that do not exist and for paths that try to leave the folder', async () => {
    for (const path of ['/visualizations/nope', '/visualizations/nope.json', '/visualizations/..%2fpackage.json']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(404);
      await response.body?.cancel();
    }
  });

  it('leaves the API behind authentication', async () => {
    const response = await fetch(`${base}/v1/outbox`);
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });

  it.each([
    ['batch', batchMachine, 'awaiting_student_validation'],
    ['association', associationMachine, 'pending_validation'],
  ])('renders the %s chart in Chromium from local files alone', async (name, machine, landmark) => {
    const page = await browser.newPage();
    const requested: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Anything not local is refused, so a stray CDN reference shows up as a failure, not a fetch.
    await page.route('**/*', (route) => (route.request().url().startsWith(`${base}/`) ? route.continue() : route.abort('blockedbyclient')));

    await page.goto(`${base}/visualizations/${name}`);
    await page.waitForFunction((text) => document.querySelector('pre.mermaid svg')?.textContent?.includes(text) ?? false, landmark, {
      timeout: 20_000,
    });
    const svg = page.locator('pre.mermaid svg');
    const drawn = (await svg.textContent()) ?? '';
    expect(drawn).not.toContain('Syntax error');
    for (const key of stateKeys(machine.root)) expect(drawn, `state ${key}`).toContain(key);

    const shot = join(shots, `${name}.png`);
    await svg.screenshot({ path: shot });
    const png = await readFile(shot);
    const { width, height } = pngSize(png);
    expect(width).toBeGreaterThan(300);
    expect(height).toBeGreaterThan(200);
    expect(png.length).toBeGreaterThan(10_000);

    const foreign = requested.filter((url) => !url.startsWith(`${base}/`) && !/^(data|blob):/.test(url));
    expect(foreign).toEqual([]);
    expect(requested).toContain(`${base}/visualizations/assets/mermaid.min.js`);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
