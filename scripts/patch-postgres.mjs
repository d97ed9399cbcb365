// postinstall: three guards in postgres.js 3.4.9's connection (open upstream: porsager/postgres
// #1154, #1208, PRs #1168, #1209; and #1192, #1205, #1223). Small writes wait for a setImmediate;
// when the connection closes first (a restart, pg_terminate_backend), (1) the scheduled write
// dereferences the null socket and the TypeError, thrown from the immediate, kills the process
// (seen in `npm run chaos`: a worker exited), and (2) teardown cancels the timer without forgetting
// it, so a later write on that connection is never scheduled and its query hangs. (3) A new
// connection first fetches the array types and drops that promise: when the connection dies during
// the fetch (seen in tests/integration/database-outage.test.ts: ECONNRESET while PostgreSQL stops),
// the rejection is unhandled and kills the process. The connection's own close handling fails its
// queries, and the next connect fetches the types again, so the guard only handles the rejection.
// Idempotent, guard by guard; fails loudly on another version.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', 'node_modules', 'postgres');
const MARK = '/* huleedu: guarded */';
const TYPES_MARK = '/* huleedu: types guarded */';
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
if (version !== '3.4.9')
  throw new Error(`scripts/patch-postgres.mjs patches postgres 3.4.9, found ${version}: check whether it is still needed`);

for (const file of ['src/connection.js', 'cjs/src/connection.js', 'cf/src/connection.js'].map((f) => join(root, f))) {
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  const types = '        return fetchArrayTypes()\n';
  if (!text.includes(TYPES_MARK)) {
    if (!text.includes(types)) throw new Error(`${file}: not the text this patch expects`);
    text = text.replace(types, `        return fetchArrayTypes().catch(() => {}) ${TYPES_MARK}\n`);
    writeFileSync(file, text);
  }
  if (text.includes(MARK)) continue;
  const write = '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)';
  const teardown = /\n    clearImmediate\(nextWriteTimer\)\n/g;
  if (!text.includes(write) || (text.match(teardown) ?? []).length !== 2) throw new Error(`${file}: not the text this patch expects`);
  text = text
    .replace(
      write,
      `  function nextWrite(fn) {\n    if (!socket) return (chunk = nextWriteTimer = null, false) ${MARK}\n    const x = socket.write(chunk, fn)`,
    )
    .replace(teardown, `\n    clearImmediate(nextWriteTimer), nextWriteTimer = chunk = null ${MARK}\n`);
  writeFileSync(file, text);
}
