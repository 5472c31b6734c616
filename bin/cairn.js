#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (npm run build).
// Each object write fdatasyncs k+m shard files and LMDB syncs each drive: with libuv's default 4
// threads those queue behind each other (measured: 6 syncs per 4+2 object took two rounds). Set
// before anything touches the threadpool; cluster workers inherit it.
process.env.UV_THREADPOOL_SIZE ??= '16';
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli.js')) {
    console.error('cairn: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
