/** Structured JSON logs, one line per entry, in the shape Cloud Logging reads from stdout/stderr. */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SECRET_KEY = /secret|private_?key|password|token|signature|credential|authorization/i;
const REDACTED = '[REDACTED]';

/** Replaces secret-looking fields and error objects with safe JSON values. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[…]';
  if (value instanceof Error) {
    // The cause is what an operator needs behind a 503 ("store not ready" because the token fetch failed).
    const { code } = value as { code?: unknown };
    return {
      name: value.name,
      message: redact(value.message, depth + 1),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
      stack: redact(value.stack, depth + 1),
      ...(value.cause === undefined ? {} : { cause: redact(value.cause, depth + 1) }),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) && k !== 'pageToken' ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) return REDACTED;
  return value;
}

export type Sink = (line: string, severity: Severity) => void;

const defaultSink: Sink = (line, severity) => {
  (severity === 'ERROR' || severity === 'WARNING' ? process.stderr : process.stdout).write(`${line}\n`);
};

export function createLogger(base: Record<string, unknown> = {}, sink: Sink = defaultSink): Logger {
  const emit = (severity: Severity, message: string, fields?: Record<string, unknown>) => {
    const entry = { severity, message, time: new Date().toISOString(), ...base, ...fields };
    sink(JSON.stringify(redact(entry)), severity);
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, sink),
  };
}

export const logger: Logger = createLogger();
