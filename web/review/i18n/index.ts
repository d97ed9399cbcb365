import { type Catalogue, en } from './en.ts';
import { sv } from './sv.ts';

/** The page's two languages: chosen from the browser, switched by the teacher, kept in localStorage. */

export type Language = 'sv' | 'en';
export const CATALOGUES: Record<Language, Catalogue> = { sv, en };
const LANGUAGE_KEY = 'huleedu.review.language';

export function initialLanguage(): Language {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved === 'sv' || saved === 'en') return saved;
  return navigator.languages.some((l) => /^(sv|nb|nn|no|da)\b/i.test(l)) && !/^en\b/i.test(navigator.language) ? 'sv' : 'en';
}

export function saveLanguage(language: Language): void {
  localStorage.setItem(LANGUAGE_KEY, language);
}

/** The browser's own locale when it speaks the chosen language (en-US keeps its dates), else the catalogue's. */
export function localeOf(language: Language): string {
  const browser = navigator.languages.find((l) => l.toLowerCase().startsWith(language));
  return browser ?? CATALOGUES[language].locale;
}

/** The instant in the teacher's time zone and locale, with the zone named. */
export function localTime(iso: string, language: Language): string {
  // dateStyle/timeStyle cannot be combined with timeZoneName, hence the fields one by one.
  const format = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' } as const;
  return new Intl.DateTimeFormat(localeOf(language), format).format(new Date(iso));
}

export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "in 3 h 12 min" / "om 3 tim 12 min", "2 min ago" / "för 2 min sedan"; whole seconds under a minute. */
export function timeLeft(dueAt: string, now: number, language: Language): string {
  const ms = Date.parse(dueAt) - now;
  const text = duration(ms, language);
  return ms < 0 ? CATALOGUES[language].agoTime(text) : CATALOGUES[language].inTime(text);
}

/** A length of time as "1 d 2 h", "3 h 12 min", "2 min 5 s"; the sign is dropped. */
export function duration(ms: number, language: Language): string {
  const u = CATALOGUES[language].units;
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const min = Math.floor(s / 60);
  s -= min * 60;
  const text =
    d > 0
      ? `${d} ${u.d} ${hours} ${u.h}`
      : hours > 0
        ? `${hours} ${u.h} ${min} ${u.min}`
        : min > 0
          ? `${min} ${u.min} ${s} ${u.s}`
          : `${s} ${u.s}`;
  return text;
}
