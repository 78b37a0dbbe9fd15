/** The contract's error envelope: {"code", "message", "detail"} (detail.fields for validation). */
export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: Record<string, unknown>;
  readonly fields: FieldErrors;

  constructor(args: {
    status: number;
    code: string;
    message: string;
    detail?: Record<string, unknown>;
    fields?: FieldErrors;
  }) {
    super(args.message);
    this.name = 'ApiError';
    this.status = args.status;
    this.code = args.code;
    this.detail = args.detail ?? {};
    this.fields = args.fields ?? {};
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const FALLBACK_CODES: Record<number, string> = {
  400: 'validation_error',
  401: 'not_authenticated',
  402: 'budget_exceeded',
  403: 'permission_denied',
  404: 'not_found',
  409: 'conflict',
  429: 'rate_limited',
};

function toMessages(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(toMessages);
  if (isRecord(value)) return Object.values(value).flatMap(toMessages);
  return [];
}

/** Field errors may come as detail.fields or, from a plain DRF serializer, as the detail itself. */
function parseFields(detail: Record<string, unknown>): FieldErrors {
  const source = isRecord(detail.fields) ? detail.fields : {};
  const fields: FieldErrors = {};
  for (const [name, value] of Object.entries(source)) {
    const messages = toMessages(value);
    if (messages.length > 0) fields[name] = messages;
  }
  return fields;
}

/**
 * Turn any HTTP failure into an ApiError. Pure, so it is table-tested: the body may be the
 * contract's envelope, a bare DRF {"detail": "..."}, HTML from a proxy, or nothing at all.
 */
export function parseApiError(status: number, body: unknown): ApiError {
  const fallbackCode = FALLBACK_CODES[status] ?? (status >= 500 ? 'server_error' : 'error');
  if (!isRecord(body)) {
    return new ApiError({ status, code: fallbackCode, message: `Request failed (${status})` });
  }
  const code = typeof body.code === 'string' && body.code ? body.code : fallbackCode;
  const detail = isRecord(body.detail) ? body.detail : {};
  let message: string;
  if (typeof body.message === 'string' && body.message) message = body.message;
  else if (typeof body.detail === 'string' && body.detail) message = body.detail;
  else message = `Request failed (${status})`;
  return new ApiError({ status, code, message, detail, fields: parseFields(detail) });
}

/** A human sentence for any thrown value (network failures are not ApiErrors). */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

export function fieldErrors(error: unknown): FieldErrors {
  return error instanceof ApiError ? error.fields : {};
}
