import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { FileAuditTarget } from './file-target.js';
import type { AuditRecord } from './record.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-audit-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger({ level: 'silent' });

describe('FileAuditTarget', () => {
  it('appends one JSON line per record, keeping what was there', async () => {
    const path = join(dir, 'audit.log');
    for (const round of [0, 1]) {
      const t = new FileAuditTarget({ path, logger, onDrop: () => undefined });
      t.send({ requestId: `R${round}`, api: 'GetObject' } as AuditRecord);
      await t.close(1000);
    }
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    expect(lines.map((l) => l.requestId)).toEqual(['R0', 'R1']);
  });

  it('fails at startup for a path it cannot open', () => {
    expect(() => new FileAuditTarget({ path: join(dir, 'no/such/dir/audit.log'), logger, onDrop: () => undefined })).toThrow(/ENOENT/);
  });

  it('drops (and counts) past its buffer bound instead of growing without limit', async () => {
    let drops = 0;
    const t = new FileAuditTarget({ path: join(dir, 'small.log'), logger, onDrop: (n) => (drops += n), maxBufferedBytes: 100 });
    const big = { requestId: 'x'.repeat(200) } as AuditRecord;
    for (let i = 0; i < 5; i++) t.send(big); // synchronous: nothing reached the disk in between
    expect(drops).toBe(4);
    await t.close(1000);
  });
});
