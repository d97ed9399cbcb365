import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';

describe('school time configuration', () => {
  it('counts wall-clock hours by default, as before', () => {
    expect(loadConfig({}).deadlines.rule).toEqual({ kind: 'elapsed', ms: 86_400_000 });
    expect(loadConfig({ VALIDATION_TIMEOUT_MS: '3600000' }).deadlines.rule).toEqual({ kind: 'elapsed', ms: 3_600_000 });
  });

  it('reads the school days rule and the calendar from SCHOOL_*', () => {
    const config = loadConfig({
      VALIDATION_DEADLINE: 'school-days',
      VALIDATION_SCHOOL_DAYS: '2',
      SCHOOL_TIME_ZONE: 'Europe/Helsinki',
      SCHOOL_WEEK: 'Mon, tue,wed,thu',
      SCHOOL_HOURS: '08:30-15:15',
      SCHOOL_CLOSED_DAYS: '2026-10-26..2026-10-30 Höstlov; 2026-12-24',
    });
    expect(config.deadlines).toEqual({
      rule: { kind: 'school_days', days: 2 },
      calendar: {
        time_zone: 'Europe/Helsinki',
        school_days: [1, 2, 3, 4],
        opens: '08:30',
        closes: '15:15',
        closed: [
          { from: '2026-10-26', to: '2026-10-30', name: 'Höstlov' },
          { from: '2026-12-24', to: '2026-12-24' },
        ],
      },
    });
  });

  it.each([
    [{ SCHOOL_TIME_ZONE: 'Europe/Gothenburg' }, 'SCHOOL_TIME_ZONE: not an IANA time zone: Europe/Gothenburg'],
    [{ SCHOOL_WEEK: 'mon,funday' }, 'SCHOOL_WEEK.1: days as mon,tue,wed,thu,fri,sat,sun'],
    [{ SCHOOL_HOURS: '8-16' }, 'SCHOOL_HOURS: opening-closing as HH:MM-HH:MM, e.g. 08:00-16:00'],
    [{ SCHOOL_HOURS: '16:00-08:00' }, 'SCHOOL_HOURS: must be after opens'],
    [{ SCHOOL_CLOSED_DAYS: '2026-13-01' }, 'SCHOOL_CLOSED_DAYS: expected a date YYYY-MM-DD'],
    [{ SCHOOL_CLOSED_DAYS: 'christmas' }, 'SCHOOL_CLOSED_DAYS.0: each YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD'],
    [{ VALIDATION_DEADLINE: 'weekdays' }, 'VALIDATION_DEADLINE:'],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
