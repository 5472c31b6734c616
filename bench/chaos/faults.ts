/**
 * Drive faults for the chaos harness, done to the drive directories behind the
 * server's back: a drive whose directory vanishes (renamed away while the
 * server runs, put back after the next kill) and bitrot (bytes flipped at
 * random offsets in random shard files under <drive>/data/).
 */
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function removeDrive(path: string, tag: string): Promise<string> {
  const away = `${path}.removed-${tag}`;
  await rename(path, away);
  return away;
}

/** Puts a removed drive back; whatever the server re-created at its path meanwhile is discarded. */
export async function restoreDrive(path: string, away: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await rename(away, path);
}

async function shardFiles(drive: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(drive, 'data');
  for (const a of await readdir(root).catch(() => [] as string[])) {
    for (const dir of await readdir(join(root, a)).catch(() => [] as string[])) {
      for (const f of await readdir(join(root, a, dir)).catch(() => [] as string[])) out.push(join(root, a, dir, f));
    }
  }
  return out;
}

/** Flips one byte in each of up to `files` random shard files; returns how many were corrupted. */
export async function corruptDrive(drive: string, files: number, rand: () => number): Promise<number> {
  const all = await shardFiles(drive);
  let done = 0;
  for (let i = 0; i < files && all.length > 0; i++) {
    const path = all.splice(Math.floor(rand() * all.length), 1)[0]!;
    try {
      const size = (await stat(path)).size;
      if (size === 0) continue;
      const fh = await open(path, 'r+');
      try {
        const at = Math.floor(rand() * size);
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, at);
        b[0] = b[0]! ^ 0xff;
        await fh.write(b, 0, 1, at);
      } finally {
        await fh.close();
      }
      done++;
    } catch {
      // The file was removed by an overwrite or delete meanwhile: pick another next time.
    }
  }
  return done;
}

/** Entries of <drive>/.cairn/tmp that belong to dead processes, or files left in live ones (other than heals in flight). */
export async function tmpLeftovers(drive: string, isAlive: (pid: number) => boolean): Promise<string[]> {
  const root = join(drive, '.cairn', 'tmp');
  const out: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(name.split('-')[0]);
    if (!isAlive(pid)) {
      out.push(join(root, name));
      continue;
    }
    // A live process may be healing right now (storage/heal writes rebuilt shards through tmp/heal-*) or publishing
    // heal status (LocalDrive.writeSysFile stages tmp/sys-* before its rename): in flight, not left over.
    for (const e of await readdir(join(root, name)).catch(() => [] as string[])) {
      if (!e.startsWith('heal-') && !e.startsWith('sys-')) out.push(join(root, name, e));
    }
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
