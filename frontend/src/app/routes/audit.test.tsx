import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';

import { alice } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

describe('audit log page', () => {
  it('names known actions in words with their code, and shows an unknown action as its code', async () => {
    const user = alice();
    server.use(
      http.get('*/api/audit/', () =>
        HttpResponse.json([
          {
            id: 2,
            actor: null,
            action: 'future.thing_happened',
            target_repr: 'x',
            created_at: '2025-01-04T10:00:00Z',
          },
          {
            id: 1,
            actor: { id: user.id, email: user.email },
            action: 'provider_key.rotated',
            target_repr: 'openai:Main',
            created_at: '2025-01-03T10:00:00Z',
          },
        ]),
      ),
    );
    renderRoute('/audit', { as: user });

    const table = await screen.findByRole('table', { name: 'Audit log' });
    const [, unknown, rotated] = within(table).getAllByRole('row');
    expect(within(rotated!).getByText('Provider key rotated')).toBeInTheDocument();
    expect(within(rotated!).getByText('provider_key.rotated')).toBeInTheDocument();
    expect(within(unknown!).getByText('future.thing_happened')).toBeInTheDocument();
    expect(within(unknown!).getByText('system')).toBeInTheDocument();
  });
});
