/**
 * A Server-Sent Events reader over fetch, because EventSource cannot send an Authorization
 * header (and a token in the URL would land in logs). It reconnects after a drop and sends the
 * last id it saw as Last-Event-ID, so nothing committed in between is lost.
 */

export interface SseMessage {
  event: string;
  id: string | null;
  data: string;
}

export interface SseHandlers {
  onOpen(): void;
  onMessage(message: SseMessage): void;
  /** `final`: the server said no (401/403/404), so no retry. */
  onDrop(final: boolean, reason: string): void;
  lastEventId(): number;
}

export function openStream(url: string, token: string, handlers: SseHandlers): () => void {
  const controller = new AbortController();
  let retryMs = 1000;
  let stopped = false;

  async function connect(): Promise<void> {
    while (!stopped) {
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
        const last = handlers.lastEventId();
        if (last > 0) headers['last-event-id'] = String(last);
        const response = await fetch(url, { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          handlers.onDrop(true, `${response.status}`);
          return;
        }
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        handlers.onOpen();
        await read(response.body);
        handlers.onDrop(false, 'ended');
      } catch (error) {
        if (stopped) return;
        handlers.onDrop(false, String(error));
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  async function read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = { event: 'message', id: null, data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') message.event = text;
          else if (field === 'id') message.id = text;
          else if (field === 'data') data.push(text);
          else if (field === 'retry' && /^\d+$/.test(text)) retryMs = Number(text);
        }
        message.data = data.join('\n');
        if (data.length > 0 || message.id !== null) handlers.onMessage(message);
      }
    }
  }

  void connect();
  return () => {
    stopped = true;
    controller.abort();
  };
}
