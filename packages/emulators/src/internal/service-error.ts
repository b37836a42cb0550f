/** HTTP status and default message of each error code a service answers, as it words them. */
export type ErrorCatalog = Readonly<Record<string, { status: number; message: string }>>;

/**
 * An error answer an emulated AWS service sends: a code, and the HTTP status
 * and message its catalog gives that code unless the caller says otherwise
 * (an unknown code is a 400 carrying the code as its message).
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(catalog: ErrorCatalog, code: string, message?: string, status?: number) {
    const known = catalog[code];
    super(message ?? known?.message ?? code);
    this.code = code;
    this.status = status ?? known?.status ?? 400;
  }
}
