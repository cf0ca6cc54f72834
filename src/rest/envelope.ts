import type { ErrorDetails } from '../core/errors';

/** The `/v1` response envelope `{code, message, data}`, with an `error` object on failures. */
export interface Envelope {
  code: number;
  message: string;
  data: unknown;
  error?: { code: number; message: string; details?: ErrorDetails };
}

export function success(data: unknown, message = 'success'): Envelope {
  return { code: 200, message, data };
}

export function failure(status: number, message: string, details?: ErrorDetails): Envelope {
  return { code: status, message, data: null, error: { code: status, message, ...(details ? { details } : {}) } };
}
