import { render } from '@testing-library/react';
import type { RenderResult } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { UserEvent } from '@testing-library/user-event';
import { createMemoryRouter, RouterProvider } from 'react-router';

import { AppProvider } from '@/app/provider';
import { routes } from '@/app/router';
import { makeQueryClient } from '@/lib/react-query';
import { signIn } from '@/testing/data-generators';
import type { FakeUser } from '@/testing/db';

export type RenderRouteResult = RenderResult & {
  user: UserEvent;
  router: ReturnType<typeof createMemoryRouter>;
};

/** Render the real route tree at `url`, optionally signed in as a fake user. */
export function renderRoute(url: string, { as }: { as?: FakeUser } = {}): RenderRouteResult {
  if (as) signIn(as);
  const queryClient = makeQueryClient();
  queryClient.setDefaultOptions({
    queries: { ...queryClient.getDefaultOptions().queries, retry: false },
  });
  const router = createMemoryRouter(routes, { initialEntries: [url] });
  const result = render(
    <AppProvider queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProvider>,
  );
  return { ...result, user: userEvent.setup(), router };
}
