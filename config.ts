import { z } from 'zod';
import { type DeadlineRule, type SchoolCalendar, WEEKDAYS, calendarProblems } from './machines/school-calendar.ts';

const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfEmpty, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) => z.preprocess(unsetIfEmpty, schema.default(fallback as never));
const positiveInt = z.coerce.number().int().positive();
/** The non-empty entries of a list separated by `separator`, trimmed. */
const entries = (separator: string) => (v: string) =>
  v
    .split(separator)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

const EnvSchema = z.object({
  NODE_ENV: withDefault(z.enum(['development', 'production', 'test']), 'development'),
  PORT: withDefault(z.coerce.number().int().min(0).max(65535), 3000),
  INTERNAL_PORT: withDefault(z.coerce.number().int().min(0).max(65535), 3001),
  INTERNAL_HOST: withDefault(z.string().min(1), '127.0.0.1'),
  PIPELINE_CREDITS: withDefault(z.enum(['allow', 'entitlements']), 'allow'),
  ENTITLEMENTS_URL: optional(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })),
  HOST: optional(z.string().regex(/^[\w.:-]+$/, 'an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0')),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')),
  DATABASE_PREPARED_STATEMENTS: withDefault(z.enum(['on', 'off']), 'on'),
  DATA_DIR: withDefault(z.string().min(1), './.data'),
  REDIS_URL: optional(z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')),
  ROLE: withDefault(z.enum(['all', 'api', 'worker']), 'all'),
  VALIDATION_TIMEOUT_MS: withDefault(positiveInt, 86_400_000),
  VALIDATION_DEADLINE: withDefault(z.enum(['elapsed', 'school-days']), 'elapsed'),
  VALIDATION_SCHOOL_DAYS: withDefault(z.coerce.number().int().min(1).max(30), 1),
  SCHOOL_TIME_ZONE: withDefault(z.string().min(1), 'Europe/Stockholm'),
  SCHOOL_WEEK: withDefault(
    z
      .string()
      .transform((v) => v.split(',').map((d) => d.trim().toLowerCase()))
      .pipe(z.array(z.enum(WEEKDAYS, { error: `days as ${WEEKDAYS.join(',')}` })).min(1)),
    // zod's default is the parsed value, not the text the transform reads.
    ['mon', 'tue', 'wed', 'thu', 'fri'] as never,
  ),
  SCHOOL_HOURS: withDefault(
    z.string().regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, 'opening-closing as HH:MM-HH:MM, e.g. 08:00-16:00'),
    '08:00-16:00',
  ),
  SCHOOL_CLOSED_DAYS: withDefault(
    z
      .string()
      .transform(entries(';'))
      .pipe(
        z.array(
          z
            .string()
            .regex(
              /^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?( .+)?$/,
              'each YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD, then an optional name; separated by ;',
            ),
        ),
      ),
    [] as never,
  ),
  VALIDATION_REMINDER_BEFORE_MS: withDefault(z.coerce.number().int().min(0), 7_200_000),
  SWEEP_INTERVAL_MS: optional(positiveInt),
  RETENTION_DAYS: optional(z.coerce.number().int().min(1).max(36_500)),
  RETENTION_INTERVAL_MS: withDefault(z.coerce.number().int().min(1000), 3_600_000),
  JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  SERVICE_TOKEN: optional(z.string().min(16, 'must be at least 16 characters')),
  QUEUE_PREFIX: withDefault(z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only'), 'huleedu'),
  STREAM_PREFIX: withDefault(z.string().regex(/^[\w.:-]*$/, 'letters, digits, _ . : - only'), ''),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(z.url()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(z.url()),
  OTEL_TRACES_EXPORTER: optional(z.string()),
  OTEL_SDK_DISABLED: optional(z.string()),
  OTEL_SERVICE_NAME: withDefault(z.string().min(1), 'huleedu-phase1-state-service'),
  STUCK_AFTER_MS: withDefault(positiveInt, 3_600_000),
  STREAM_POLL_MS: withDefault(positiveInt, 500),
  JWT_MAX_LIFETIME_S: withDefault(positiveInt, 30 * 24 * 3600),
  DEADLINE_CLOCK_SKEW_MS: withDefault(z.coerce.number().int().min(0).max(3_600_000), 5_000),
  QUEUE_DASHBOARD: withDefault(z.enum(['read-only', 'read-write']), 'read-only'),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  KAFKA_BROKERS: optional(
    z
      .string()
      .transform(entries(','))
      .pipe(z.array(z.string().regex(/^[\w.-]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'name at least one host:port')),
  ),
  KAFKA_CLIENT_ID: withDefault(z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only'), 'huleedu-phase1-state-service'),
  KAFKA_GROUP_ID: withDefault(z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only'), 'huleedu-phase1-state-service'),
  KAFKA_DEAD_LETTER_TOPIC: withDefault(
    z.string().regex(/^[\w.-]{1,249}$/, 'a Kafka topic name: letters, digits, _ . - only'),
    'huleedu.phase1.dead-letter.v1',
  ),
  KAFKA_SESSION_TIMEOUT_MS: withDefault(z.coerce.number().int().min(1000).max(3_600_000), 30_000),
  OUTBOX_RELAY: optional(
    z
      .string()
      .transform((v) => [...new Set(entries(',')(v))])
      .pipe(z.array(z.enum(['redis', 'kafka'], { error: 'each entry must be redis or kafka' }))),
  ),
});

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  /** The internal listener (the doors other HuleEdu services call without credentials): port and bind address. */
  internalPort: number;
  internalHost: string;
  /** Where pipeline credits are checked: nowhere (`allow`), or the entitlements service at this URL. */
  credits: { kind: 'allow' } | { kind: 'entitlements'; url: string };
  /** The interface the API listens on: loopback in development unless HOST says otherwise. */
  host: string;
  databaseUrl: string | undefined;
  /** Named prepared statements on PostgreSQL; off behind PgBouncer in transaction pooling. */
  preparedStatements: boolean;
  dataDir: string;
  redisUrl: string | undefined;
  role: 'all' | 'api' | 'worker';
  validationTimeoutMs: number;
  /** How the validation deadline is counted, and the school calendar it counts in unless a class has its own. */
  deadlines: { rule: DeadlineRule; calendar: SchoolCalendar };
  /** How long before a validation deadline the teacher is reminded; 0: never. */
  validationReminderBeforeMs: number;
  sweepIntervalMs: number;
  /** Finished batches unchanged this many days lose their personal data; null: retention is off. */
  retentionDays: number | null;
  /** How often the retention job runs (BullMQ job scheduler with Redis, a database loop without). */
  retentionIntervalMs: number;
  jwtSecret: string | undefined;
  serviceToken: string | undefined;
  logLevel: string;
  /** Teacher JWTs must carry `exp`, at most this far from `iat` (or from now). */
  jwtMaxLifetimeSeconds: number;
  /** How early a deadline may be applied: clocks of the API, worker and database drift this much. */
  deadlineClockSkewMs: number;
  /** `read-only` hides the queue dashboard's promote, retry and remove buttons. */
  queueDashboard: 'read-only' | 'read-write';
  /** BullMQ key prefix, so several deployments can share one Redis. */
  queuePrefix: string;
  /** Prepended to each topic to name its Redis stream (empty: the stream is the topic). */
  streamPrefix: string;
  /** OpenTelemetry: spans exported over OTLP/HTTP when an OTLP endpoint is configured. */
  otel: { enabled: boolean; serviceName: string };
  /** A batch waiting for another service longer than this counts as stuck. */
  stuckAfterMs: number;
  /** How often an open batch stream (SSE) looks for committed rows. */
  streamPollMs: number;
  /** HuleEdu's Kafka: the consumer of every inbound topic and the outbox relay's broker; null without KAFKA_BROKERS. */
  kafka: { brokers: string[]; clientId: string; groupId: string; deadLetterTopic: string; sessionTimeoutMs: number } | null;
  /** Where the outbox relay publishes (worker role): Redis Streams, Kafka, both, or nowhere. */
  outboxRelay: Array<'redis' | 'kafka'>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment once; a bad value names its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.ROLE === 'api' && e.DATABASE_URL === undefined) {
    // The embedded database takes one process, so no worker could ever fire this API's deadlines.
    throw new ConfigError(
      'invalid configuration:\n  ROLE: ROLE=api needs DATABASE_URL: on the embedded database no worker can run beside it, so no deadline would fire; use ROLE=all (the default) or point it at PostgreSQL.',
    );
  }
  if (e.PIPELINE_CREDITS === 'entitlements' && e.ENTITLEMENTS_URL === undefined) {
    throw new ConfigError(
      'invalid configuration:\n  ENTITLEMENTS_URL: required when PIPELINE_CREDITS=entitlements (the entitlements service the credit checks go to)',
    );
  }
  const relay = e.OUTBOX_RELAY ?? [...(e.REDIS_URL ? ['redis' as const] : []), ...(e.KAFKA_BROKERS ? ['kafka' as const] : [])];
  const unreachable = relay.filter((sink) => (sink === 'redis' ? e.REDIS_URL : e.KAFKA_BROKERS) === undefined);
  if (unreachable.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n  OUTBOX_RELAY: ${unreachable.map((sink) => `${sink} needs ${sink === 'redis' ? 'REDIS_URL' : 'KAFKA_BROKERS'}`).join('; ')}`,
    );
  }
  const calendar = schoolCalendarOf(e);
  const calendarIssues = calendarProblems(calendar);
  if (calendarIssues.length > 0) {
    const names: Record<string, string> = {
      time_zone: 'SCHOOL_TIME_ZONE',
      school_days: 'SCHOOL_WEEK',
      opens: 'SCHOOL_HOURS',
      closes: 'SCHOOL_HOURS',
    };
    const lines = calendarIssues.map((p) => `  ${names[p.path] ?? 'SCHOOL_CLOSED_DAYS'}: ${p.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (e.NODE_ENV === 'production') {
    const missing = (['JWT_SECRET', 'SERVICE_TOKEN'] as const).filter((k) => e[k] === undefined);
    if (missing.length > 0)
      throw new ConfigError(`invalid configuration:\n${missing.map((k) => `  ${k}: required when NODE_ENV=production`).join('\n')}`);
  }
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    internalPort: e.INTERNAL_PORT,
    internalHost: e.INTERNAL_HOST,
    credits: e.PIPELINE_CREDITS === 'entitlements' ? { kind: 'entitlements', url: e.ENTITLEMENTS_URL! } : { kind: 'allow' },
    // Development mode hands out development credentials: it listens to this machine only unless told.
    host: e.HOST ?? (e.NODE_ENV === 'development' ? '127.0.0.1' : '0.0.0.0'),
    databaseUrl: e.DATABASE_URL,
    preparedStatements: e.DATABASE_PREPARED_STATEMENTS === 'on',
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    role: e.ROLE,
    validationTimeoutMs: e.VALIDATION_TIMEOUT_MS,
    deadlines: {
      rule:
        e.VALIDATION_DEADLINE === 'school-days'
          ? { kind: 'school_days', days: e.VALIDATION_SCHOOL_DAYS }
          : { kind: 'elapsed', ms: e.VALIDATION_TIMEOUT_MS },
      calendar,
    },
    validationReminderBeforeMs: e.VALIDATION_REMINDER_BEFORE_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS ?? (e.REDIS_URL ? 60_000 : 1_000),
    retentionDays: e.RETENTION_DAYS ?? null,
    retentionIntervalMs: e.RETENTION_INTERVAL_MS,
    jwtSecret: e.JWT_SECRET,
    serviceToken: e.SERVICE_TOKEN,
    logLevel: e.LOG_LEVEL,
    jwtMaxLifetimeSeconds: e.JWT_MAX_LIFETIME_S,
    deadlineClockSkewMs: e.DEADLINE_CLOCK_SKEW_MS,
    queueDashboard: e.QUEUE_DASHBOARD,
    queuePrefix: e.QUEUE_PREFIX,
    streamPrefix: e.STREAM_PREFIX,
    otel: {
      // The standard variables; the exporter reads the rest (headers, timeouts) itself.
      enabled:
        e.OTEL_SDK_DISABLED?.toLowerCase() !== 'true' &&
        e.OTEL_TRACES_EXPORTER?.toLowerCase() !== 'none' &&
        (e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ||
          e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined ||
          e.OTEL_TRACES_EXPORTER?.toLowerCase() === 'otlp'),
      serviceName: e.OTEL_SERVICE_NAME,
    },
    stuckAfterMs: e.STUCK_AFTER_MS,
    streamPollMs: e.STREAM_POLL_MS,
    kafka: e.KAFKA_BROKERS
      ? {
          brokers: e.KAFKA_BROKERS,
          clientId: e.KAFKA_CLIENT_ID,
          groupId: e.KAFKA_GROUP_ID,
          deadLetterTopic: e.KAFKA_DEAD_LETTER_TOPIC,
          sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
        }
      : null,
    outboxRelay: relay,
  };
}

/** The service's school calendar from SCHOOL_* (a class may have its own, set through the API). */
function schoolCalendarOf(e: z.infer<typeof EnvSchema>): SchoolCalendar {
  const [opens, closes] = e.SCHOOL_HOURS.split('-') as [string, string];
  return {
    time_zone: e.SCHOOL_TIME_ZONE,
    school_days: e.SCHOOL_WEEK.map((d) => WEEKDAYS.indexOf(d) + 1),
    opens,
    closes,
    closed: e.SCHOOL_CLOSED_DAYS.map((entry) => {
      const [days, ...name] = entry.split(' ');
      const [from, to] = days!.split('..') as [string, string | undefined];
      return { from, to: to ?? from, ...(name.length > 0 ? { name: name.join(' ') } : {}) };
    }),
  };
}
