/** A tiny element builder: the page has no framework, and this is all it needs of one. */

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h(tag: string, attrs: Attrs = {}, ...children: Array<Child | Child[]>): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/** "in 3 h 12 min", "2 min ago"; whole seconds under a minute. */
export function timeLeft(dueAt: string, now: number): string {
  const ms = Date.parse(dueAt) - now;
  const past = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const min = Math.floor(s / 60);
  s -= min * 60;
  const text = d > 0 ? `${d} d ${hours} h` : hours > 0 ? `${hours} h ${min} min` : min > 0 ? `${min} min ${s} s` : `${s} s`;
  return past ? `${text} ago` : `in ${text}`;
}

/** The instant in the reader's own time zone, with the zone named. */
export function localTime(iso: string): string {
  // dateStyle/timeStyle cannot be combined with timeZoneName, hence the fields one by one.
  const format = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' } as const;
  return new Intl.DateTimeFormat(undefined, format).format(new Date(iso));
}

export const shortId = (id: string) => id.slice(0, 8);
