import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Requests Node refuses before Hono sees them (a header block over 16 KiB, a malformed request
 * line) get a problem+json like every other error, instead of Node's bare status line.
 */
const REFUSALS: Record<string, { status: number; reason: string; title: string; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    title: 'Request header fields too large',
    detail: 'The request headers exceed 16 KiB together.',
  },
};
const BAD_REQUEST = { status: 400, reason: 'Bad Request', title: 'Bad request', detail: 'The request is not valid HTTP.' };

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset or timed-out socket cannot be answered.
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const refusal = REFUSALS[error.code ?? ''] ?? BAD_REQUEST;
    const body = JSON.stringify({
      type: `/problems/${refusal.status === 431 ? 'header-fields-too-large' : 'bad-request'}`,
      title: refusal.title,
      status: refusal.status,
      detail: refusal.detail,
    });
    socket.end(
      `HTTP/1.1 ${refusal.status} ${refusal.reason}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
