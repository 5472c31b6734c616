/** Multipart: CreateMultipartUpload, --part-concurrency parallel UploadPart of --part-size, Complete. One op = one object. */
import { keyCycle, record, type Workload } from './types.js';

export const multipartWorkload: Workload = {
  name: 'multipart',
  needs: ['multipart'],
  async prepare() {},
  async op(ctx, worker, seq) {
    const key = `mp/w${worker}/${seq % keyCycle(ctx.opts.size)}`;
    const body = { size: ctx.opts.size, pattern: ctx.pattern };
    const t = await record(ctx, 'MULTIPART', () => ctx.store.multipart(ctx.bucket, key, body, ctx.opts.partSize, ctx.opts.partConcurrency));
    if (t) ctx.written.add(key);
  },
};
