import type { Bindings, ChildLoggerOptions, Level, LevelWithSilentOrString } from 'pino';
import type { Logger } from '../core/logger.js';

/**
 * Per-request loggers that cost nothing until they log.
 *
 * Every request used to get two pino children (fastify's `{reqId}`, then
 * ops.ts's `{api, bucket, key}`); pino serialises a child's bindings into a
 * JSON fragment when the child is made, which was ~3 % of a 4 KiB GET's CPU
 * while the level (warn by default) meant almost no request ever logged. A
 * LazyLogger keeps the bindings and makes the real pino child only when a line
 * at an enabled level is written, so the output is the same line with the
 * same bindings (merged into one object: a key bound twice appears once, the
 * newer value winning).
 */
export class LazyLogger {
  private real: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly own: Bindings,
    /** Bindings of the lazy logger this one is a child of; merged only when a line is written (a spread per request showed in profiles). */
    private readonly inherited?: Bindings,
  ) {}

  /** Every binding of the chain, the newer value winning. */
  private merged(): Bindings {
    return this.inherited ? { ...this.inherited, ...this.own } : this.own;
  }

  /** The pino child, made on first use. */
  private get logger(): Logger {
    return (this.real ??= this.parent.child(this.merged()));
  }

  get level(): LevelWithSilentOrString {
    return this.real ? this.real.level : this.parent.level;
  }

  set level(level: LevelWithSilentOrString) {
    this.logger.level = level;
  }

  isLevelEnabled(level: LevelWithSilentOrString): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.real ? this.real.bindings() : { ...this.parent.bindings(), ...this.merged() };
  }

  child(bindings: Bindings, opts?: ChildLoggerOptions): Logger | LazyLogger {
    // Options (a level, serializers) change how lines are written: let pino handle those.
    if (this.real || (opts && Object.keys(opts).length > 0)) return this.logger.child(bindings, opts);
    return new LazyLogger(this.parent, bindings, this.inherited ? this.merged() : this.own);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  private write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.logger[level] as (...a: unknown[]) => void)(...args);
  }
}

/** A request's logger: a lazy child of `parent` (itself lazy or a pino logger). */
export function lazyChild(parent: Logger | LazyLogger, bindings: Bindings, opts?: ChildLoggerOptions): Logger {
  if (parent instanceof LazyLogger) return parent.child(bindings, opts) as unknown as Logger;
  if (opts && Object.keys(opts).length > 0) return parent.child(bindings, opts);
  return new LazyLogger(parent, bindings) as unknown as Logger;
}
