import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { driveContract } from './drive.contract.js';
import { LocalDrive } from './local-drive.js';

driveContract('LocalDrive', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-drive-'));
  return { drive: await LocalDrive.open(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});
