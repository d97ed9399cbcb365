import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { createBatchStreams } from '../../app/stream.ts';
import { createSweep } from '../../jobs/sweep.ts';
import { type HttpOptions, createHttpApp } from '../../server/app.ts';
import { type Harness, type HarnessOptions, startHarness } from './harness.ts';

/** Debian's Chromium, installed by .ci/run; playwright's own browser download is never used. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium; launch() gives every run a fresh temporary profile of its own. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...extraArgs, ...CHROMIUM_ARGS] });
}

export interface ServedApp {
  server: ServerType;
  base: string;
  close(): Promise<void>;
}

/** The harness's service behind the public app on a real socket on 127.0.0.1, for a browser to load. */
export async function serveForBrowser(harness: Harness, options: Omit<HttpOptions, 'auth'> = {}): Promise<ServedApp> {
  const app = createHttpApp(harness.service, { auth: { serviceToken: harness.serviceToken, jwtSecret: harness.jwtSecret }, ...options });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReviewServed extends ServedApp {
  harness: Harness;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * The review page as the runtime serves it: a harness, live batch streams polling every 100 ms, the
 * deadline sweep every 200 ms, and Chromium to look at it.
 */
export async function serveReview(
  harnessOptions: HarnessOptions,
  review: HttpOptions['review'],
  chromiumArgs: string[] = [],
): Promise<ReviewServed> {
  const harness = await startHarness(harnessOptions);
  const hub = createBatchStreams({ db: harness.database.db, pollMs: 100 });
  const served = await serveForBrowser(harness, { streams: hub, review });
  const sweep = createSweep(harness.service, { intervalMs: 200 });
  sweep.start();
  const browser = await launchChromium(chromiumArgs);
  return {
    ...served,
    harness,
    browser,
    async close() {
      await browser.close();
      hub.close();
      await sweep.stop();
      await served.close();
      await harness.close();
    },
  };
}

/** Anything not served at `base` is refused and noted in `foreign`, so a stray CDN or font reference shows up. */
export async function refuseForeign(context: BrowserContext, base: string, foreign: string[]): Promise<void> {
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${base}/`) || /^(data|blob):/.test(url)) return route.continue();
    foreign.push(url);
    return route.abort('blockedbyclient');
  });
}

/**
 * A new page that fails at the step that did not happen, well inside the test's own timeout (generous
 * bounds for a loaded 2-core machine; no step is timed, only bounded), noting its script errors.
 */
export async function boundedPage(context: BrowserContext, pageErrors: string[]): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.setDefaultNavigationTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return page;
}
