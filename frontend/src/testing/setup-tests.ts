import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';

import { initI18n } from '@/lib/i18n';
import { resetDb } from '@/testing/db';
import { server } from '@/testing/server';

// findBy* queries wait this long for the UI to settle: generous, for a loaded 2-core CI machine.
configure({ asyncUtilTimeout: 5_000 });

// jsdom has no layout, so nothing ever resizes: charts keep their fallback width.
class NoLayoutResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
globalThis.ResizeObserver ??= NoLayoutResizeObserver;

// Tests read English labels whatever the machine's locale.
localStorage.setItem('potluck.lang', 'en');
initI18n({ lng: 'en' });

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  cleanup();
  server.resetHandlers();
  resetDb();
  localStorage.clear();
  localStorage.setItem('potluck.lang', 'en');
  document.documentElement.className = '';
  // Forget the CSRF cookie so every test goes through the api-client's fetch-the-token path.
  document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';
});
afterAll(() => server.close());
