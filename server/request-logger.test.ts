import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../core/logger.js';
import { LazyLogger, lazyChild } from './request-logger.js';

/** A pino logger writing JSON lines into an array. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

describe('lazy request logger', () => {
  it('writes the same line with every binding of the chain', () => {
    const { logger, lines } = capture('info');
    const req = lazyChild(logger, { reqId: 'R1' });
    const op = req.child({ api: 'GetObject', bucket: 'b', key: 'k' });
    op.info({ extra: 1 }, 'hello');
    op.debug('not written');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reqId: 'R1', api: 'GetObject', bucket: 'b', key: 'k', extra: 1, msg: 'hello', level: 30 });
  });

  it('makes no pino child while nothing at an enabled level is logged', () => {
    const { logger, lines } = capture('warn');
    let children = 0;
    const counting = new Proxy(logger, {
      get(t, p, r) {
        if (p === 'child') return (...a: Parameters<typeof logger.child>) => (children++, t.child(...a));
        return Reflect.get(t, p, r) as unknown;
      },
    });
    const req = lazyChild(counting, { reqId: 'R2' }).child({ api: 'PutObject' });
    req.debug('quiet');
    req.info('quiet');
    expect(children).toBe(0);
    expect(req.isLevelEnabled('info')).toBe(false);
    expect(req.isLevelEnabled('error')).toBe(true);
    expect(req.bindings()).toMatchObject({ reqId: 'R2', api: 'PutObject' });
    req.error({ err: new Error('boom') }, 'internal error');
    expect(children).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reqId: 'R2', api: 'PutObject', msg: 'internal error', level: 50 });
    expect((lines[0]!.err as { message: string }).message).toBe('boom');
  });

  it('hands children with options to pino', () => {
    const { logger, lines } = capture('info');
    const lazy = lazyChild(logger, { reqId: 'R3' });
    expect(lazy).toBeInstanceOf(LazyLogger);
    const quiet = lazy.child({ api: 'X' }, { level: 'error' });
    expect(quiet).not.toBeInstanceOf(LazyLogger);
    quiet.info('dropped');
    quiet.error('kept');
    expect(lines.map((l) => l.msg)).toEqual(['kept']);
    expect(lines[0]).toMatchObject({ reqId: 'R3', api: 'X' });
  });
});

describe('lazy logger chains', () => {
  it('merges the bindings of every level, the newer value winning, in the order pino would', () => {
    const { logger, lines } = capture('info');
    const a = lazyChild(logger, { reqId: 'R4', api: 'first' });
    const b = a.child({ api: 'GetObject', bucket: 'b' });
    const c = b.child({ key: 'k', bucket: 'b2' });
    expect(c).toBeInstanceOf(LazyLogger);
    expect(c.bindings()).toMatchObject({ reqId: 'R4', api: 'GetObject', bucket: 'b2', key: 'k' });
    // The parent levels are untouched by their children.
    expect(b.bindings()).toMatchObject({ reqId: 'R4', api: 'GetObject', bucket: 'b' });
    expect(b.bindings()).not.toHaveProperty('key');
    c.info('hello');
    b.info('parent');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ reqId: 'R4', api: 'GetObject', bucket: 'b2', key: 'k', msg: 'hello' });
    expect(Object.keys(lines[0]!).filter((k) => ['reqId', 'api', 'bucket', 'key'].includes(k))).toEqual(['reqId', 'api', 'bucket', 'key']);
    expect(lines[1]).toMatchObject({ reqId: 'R4', api: 'GetObject', bucket: 'b', msg: 'parent' });
    expect(lines[1]).not.toHaveProperty('key');
  });
});
