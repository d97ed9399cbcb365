import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EntitlementsStub {
  url: string;
  /** Every bulk check it was asked, as sent. */
  asked: Array<{ user_id: string; org_id: string | null; requirements: Record<string, number>; correlation_id: string }>;
  close(): Promise<void>;
}

/**
 * An entitlements service on a real socket, answering the bulk credit check as the real one does:
 * 200 `{allowed: true}` while the balance covers the request, 402 `{allowed: false,
 * denial_reason: 'insufficient_credits'}` when it does not.
 */
export async function startEntitlements(balance: number): Promise<EntitlementsStub> {
  const asked: EntitlementsStub['asked'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/entitlements/check-credits/bulk') {
        res.writeHead(404).end();
        return;
      }
      const check = JSON.parse(body) as EntitlementsStub['asked'][number];
      asked.push(check);
      const required = Object.values(check.requirements).reduce((a, b) => a + b, 0);
      const allowed = required <= balance;
      res.writeHead(allowed ? 200 : 402, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          allowed,
          available_credits: balance,
          required_credits: required,
          per_metric: check.requirements,
          ...(allowed ? {} : { denial_reason: 'insufficient_credits' }),
          correlation_id: check.correlation_id,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, asked, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
