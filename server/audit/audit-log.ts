import type { AuditRecord, AuditTarget } from './record.js';

/** Fans each record out to every configured target. With none, records are not even built. */
export class AuditLog {
  constructor(private readonly targets: readonly AuditTarget[]) {}

  get enabled(): boolean {
    return this.targets.length > 0;
  }

  record(r: AuditRecord): void {
    for (const t of this.targets) t.send(r);
  }

  async close(deadlineMs = 5000): Promise<void> {
    await Promise.all(this.targets.map((t) => t.close(deadlineMs)));
  }
}
