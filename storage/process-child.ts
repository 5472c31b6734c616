/**
 * Test helper process for the multi-process storage tests (storage/processes.test.ts):
 * forked from the compiled tree as dist/storage/process-child.js. Not used by the server.
 *   race <drivesJson> <id> <rounds>  — overwrite key "race" repeatedly with its own bodies
 *   slow <drivesJson> <size>         — PUT key "k" slowly; reports progress, waits to be killed
 *   open <drivesJson>                — open (formatting if blank) and print the deployment id
 */
import { Readable } from 'node:stream';
import { openObjectLayer } from './index.js';

const [mode, drivesJson, a, b] = process.argv.slice(2);
const drives = JSON.parse(drivesJson ?? '[]') as string[];

function body(size: number, fill: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(64 * 1024, size - sent);
      sent += n;
      this.push(Buffer.alloc(n, fill));
    },
  });
}

async function main(): Promise<void> {
  const ol = await openObjectLayer({ drives, blockSize: 64 * 1024, inlineThreshold: 1024 });
  if (mode === 'open') {
    process.stdout.write(ol.topology().deploymentId + '\n');
  } else if (mode === 'race') {
    const id = Number(a);
    for (let i = 0; i < Number(b); i++) await ol.putObject('bkt', 'race', body(100_000 + id * 1000 + i, id));
  } else if (mode === 'slow') {
    const size = Number(a);
    let sent = 0;
    const slow = new Readable({
      read() {
        if (sent >= size) return void this.push(null);
        sent += 256 * 1024;
        if (sent >= size / 4) process.send?.('progress');
        setTimeout(() => this.push(Buffer.alloc(256 * 1024, 7)), sent >= size / 4 ? 50 : 0);
      },
    });
    await ol.putObject('bkt', 'k', slow);
  }
  await ol.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(String((err as Error).stack ?? err) + '\n');
    process.exit(1);
  },
);
