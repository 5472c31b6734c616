/**
 * Base of every error Cairn raises on purpose. `code` is stable and machine-readable;
 * each layer defines its own closed set of codes and translates the layer below's
 * (drive → object layer → S3). Anything that is not a CairnError is a bug and
 * surfaces to clients only as InternalError.
 */
export class CairnError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message?: string,
    options?: { cause?: unknown },
  ) {
    super(message ?? code, options);
    this.name = new.target.name;
  }
}

export function isCairnError(err: unknown): err is CairnError {
  return err instanceof CairnError;
}
