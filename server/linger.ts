import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long, and how much, a socket answered early may still be read before it is closed. */
export const LINGER_MS = 2_000;
export const LINGER_BYTES = 16 * 1024 * 1024;

const lingering = Symbol('lingering');

/**
 * A lingering close for an answer given before the body was read (a 413, a 401): Node closes such a
 * socket as soon as the answer is written, and closing a socket with unread data makes the kernel
 * reset it, so a client still writing its body gets EPIPE or ECONNRESET instead of the answer. Here
 * the socket is half-closed instead (the answer and a FIN go out), the rest of the body is read and
 * dropped until the client closes its side, for at most LINGER_MS and LINGER_BYTES, then it closes.
 */
export function lingerOnClose(incoming: IncomingMessage): void {
  const socket = incoming.socket as (Socket & { [lingering]?: true }) | null;
  if (!socket || socket[lingering] || socket.destroyed) return;
  socket[lingering] = true;
  // Node's HTTP server calls destroySoon once the last answer on a `Connection: close` socket is written.
  socket.destroySoon = function lingerThenDestroy(this: Socket) {
    if (this.destroyed || timer !== undefined) return;
    let read = 0;
    const close = () => {
      clearTimeout(timer);
      this.destroy();
    };
    timer = setTimeout(close, LINGER_MS);
    timer.unref();
    this.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > LINGER_BYTES) close();
    });
    this.once('end', close);
    this.once('close', () => clearTimeout(timer));
    if (this.writable) this.end();
    this.resume();
  };
  let timer: NodeJS.Timeout | undefined;
}
