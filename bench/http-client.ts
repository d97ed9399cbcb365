import { Pool } from 'undici';

/** The load generator's HTTP side: keep-alive connections on loopback, one request per connection at a time. */
export function httpClient(origin: string, connections: number) {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    /** POSTs JSON and throws unless the status is the expected one: a wrong answer is not a data point. */
    async post(path: string, body: unknown, token: string | null, expected = 200): Promise<unknown> {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const response = await pool.request({ origin, path, method: 'POST', headers, body: JSON.stringify(body) });
      const text = await response.body.text();
      if (response.statusCode !== expected) {
        throw new Error(`POST ${path}: expected ${expected}, got ${response.statusCode}: ${text.slice(0, 500)}`);
      }
      return JSON.parse(text);
    },
    close: () => pool.close(),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
