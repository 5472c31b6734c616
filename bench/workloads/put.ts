/** PUT: every worker writes objects of --size, cycling over its own keys. */
import { keyCycle, record, type Workload } from './types.js';

export const putWorkload: Workload = {
  name: 'put',
  needs: ['put'],
  async prepare() {},
  async op(ctx, worker, seq) {
    const key = `put/w${worker}/${seq % keyCycle(ctx.opts.size)}`;
    const t = await record(ctx, 'PUT', () => ctx.store.put(ctx.bucket, key, { size: ctx.opts.size, pattern: ctx.pattern }));
    if (t) ctx.written.add(key);
  },
};
