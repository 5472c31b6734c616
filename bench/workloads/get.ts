/** GET: objects written once before the measured phase, read at random; one in 16 bodies verified. */
import { defaultObjects, populate, record, type Workload } from './types.js';

const VERIFY_EVERY = 16;
const VERIFY_BYTES = 1 << 20;

export const getWorkload: Workload = {
  name: 'get',
  needs: ['put', 'get'],
  async prepare(ctx) {
    const n = ctx.opts.objects ?? defaultObjects(ctx.opts.size, ctx.opts.concurrency);
    await populate(ctx, Array.from({ length: n }, (_, i) => `get/${i}`), ctx.opts.size);
  },
  async op(ctx, _worker, seq) {
    const n = ctx.opts.objects ?? defaultObjects(ctx.opts.size, ctx.opts.concurrency);
    const key = `get/${Math.floor(Math.random() * n)}`;
    const verify = ctx.opts.verify && seq % VERIFY_EVERY === 0 ? { pattern: ctx.pattern, bytes: Math.min(VERIFY_BYTES, ctx.opts.size) } : undefined;
    await record(ctx, 'GET', () => ctx.store.get(ctx.bucket, key, verify));
  },
};
