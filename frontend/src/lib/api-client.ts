import type { z } from 'zod';

import { ApiError, parseApiError } from '@/lib/errors';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

let csrfPromise: Promise<void> | undefined;

/** Django sets `csrftoken` on the SPA shell; if it is missing (dev server, tests) ask for it once. */
async function ensureCsrfToken(): Promise<string | undefined> {
  if (!readCookie('csrftoken')) {
    csrfPromise ??= fetch(new URL('/api/auth/csrf/', window.location.origin), {
      credentials: 'same-origin',
    })
      .then(() => undefined)
      .finally(() => {
        csrfPromise = undefined;
      });
    await csrfPromise;
  }
  return readCookie('csrftoken');
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

async function request<T>(
  method: Method,
  url: string,
  schema: z.ZodType<T> | undefined,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method)) {
    const token = await ensureCsrfToken();
    if (token) headers['X-CSRFToken'] = token;
  }
  // Absolute against the page's origin: same-origin in the browser, and fetch in tests needs it.
  const response = await fetch(new URL(url, window.location.origin), {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) throw parseApiError(response.status, data);
  if (!schema) return data as T;
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new ApiError({
      status: response.status,
      code: 'bad_response',
      message: 'The server sent an unexpected answer.',
      detail: { issues: parsed.error.issues.map((issue) => issue.message) },
    });
  }
  return parsed.data;
}

export const api = {
  get: <T>(url: string, schema?: z.ZodType<T>): Promise<T> => request('GET', url, schema),
  post: <T>(url: string, body?: unknown, schema?: z.ZodType<T>): Promise<T> =>
    request('POST', url, schema, body ?? {}),
  put: <T>(url: string, body: unknown, schema?: z.ZodType<T>): Promise<T> =>
    request('PUT', url, schema, body),
  patch: <T>(url: string, body: unknown, schema?: z.ZodType<T>): Promise<T> =>
    request('PATCH', url, schema, body),
  delete: (url: string): Promise<void> => request<void>('DELETE', url, undefined),
};
