import { closeSync, createWriteStream, openSync, type WriteStream } from 'node:fs';
import type { Logger } from '../../core/logger.js';
import type { AuditRecord, AuditTarget } from './record.js';

export interface FileTargetOptions {
  path: string;
  logger: Logger;
  onDrop: (n: number) => void;
  /** Past this many bytes waiting for the disk, new records are dropped (and counted). */
  maxBufferedBytes?: number;
}

/**
 * JSON lines appended to a file (`CAIRN_AUDIT_FILE`). The file is opened at
 * startup so a bad path stops the server instead of losing records silently.
 * Writes go through a stream: a slow disk makes records wait in memory up to
 * maxBufferedBytes, never the request. For rotation use copytruncate (the file
 * is held open).
 */
export class FileAuditTarget implements AuditTarget {
  readonly name = 'file';
  private readonly out: WriteStream;
  private readonly max: number;
  private failed = false;

  constructor(private readonly opts: FileTargetOptions) {
    this.max = opts.maxBufferedBytes ?? 16 << 20;
    const fd = openSync(opts.path, 'a', 0o640);
    try {
      this.out = createWriteStream('', { fd, autoClose: true });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.out.on('error', (err) => {
      if (!this.failed) opts.logger.error({ err, path: opts.path }, 'audit file target failed; its records are dropped from now on');
      this.failed = true;
    });
  }

  send(record: AuditRecord): void {
    if (this.failed || this.out.writableLength > this.max) {
      this.opts.onDrop(1);
      return;
    }
    this.out.write(JSON.stringify(record) + '\n');
  }

  async close(deadlineMs: number): Promise<void> {
    if (this.out.closed || this.out.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.out.destroy();
        resolve();
      }, deadlineMs);
      this.out.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
