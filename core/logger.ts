import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** The process logger. Request loggers are children of it (server/), never globals. */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? process.env.CAIRN_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    // Credentials and signatures never reach a log line.
    redact: {
      paths: ['headers.authorization', 'headers["x-amz-security-token"]', 'secretKey', '*.secretKey'],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
