import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';

import { alice, bob, createModel } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

type Token = {
  id: number;
  name: string;
  prefix: string;
  last4: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  max_budget_usd: string | null;
  models: string[];
  user: { id: number; email: string; name: string };
};

/** A tiny in-memory /api/tokens/ for these tests. */
function tokenApi(initial: Token[] = []) {
  const tokens = [...initial];
  const posted: unknown[] = [];
  server.use(
    http.get('*/api/tokens/', () => HttpResponse.json(tokens)),
    http.post('*/api/tokens/', async ({ request }) => {
      const body = (await request.json()) as Record<string, unknown>;
      posted.push(body);
      const token: Token = {
        id: 100 + tokens.length,
        name: String(body.name),
        prefix: 'pl-AbCdEfGh',
        last4: 'wxyz',
        created_at: new Date().toISOString(),
        expires_at: (body.expires_at as string | undefined) ?? null,
        last_used_at: null,
        max_budget_usd: (body.max_budget_usd as string | undefined) ?? null,
        models: (body.models as string[] | undefined) ?? [],
        user: { id: 2, email: 'bob@acme.test', name: 'Bob' },
      };
      tokens.push(token);
      return HttpResponse.json({ ...token, token: 'pl-AbCdEfGhsecretsecretwxyz' }, { status: 201 });
    }),
    http.delete('*/api/tokens/:id/', ({ params }) => {
      const index = tokens.findIndex((t) => t.id === Number(params.id));
      tokens.splice(index, 1);
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return { tokens, posted };
}

describe('API tokens page', () => {
  it('creates a token, shows its secret once, then lists it masked', async () => {
    createModel({ id: 'gpt-4o-mini' });
    createModel({ id: 'claude-haiku-4-5' });
    const api = tokenApi();
    const { user } = renderRoute('/tokens', { as: bob() });

    expect(await screen.findByText('No API tokens yet.')).toBeInTheDocument();
    await user.type(screen.getByLabelText('Name'), 'my script');
    await user.type(screen.getByLabelText('Spending cap (USD)'), '2.50');
    await user.click(await screen.findByRole('checkbox', { name: 'claude-haiku-4-5' }));
    await user.click(screen.getByRole('button', { name: 'Create token' }));

    const secret = await screen.findByRole('status', { name: 'Copy your new token now.' });
    expect(secret).toHaveTextContent('pl-AbCdEfGhsecretsecretwxyz');
    expect(within(secret).getByRole('button', { name: /Copy token/ })).toBeInTheDocument();
    expect(api.posted).toEqual([
      { name: 'my script', max_budget_usd: '2.50', models: ['claude-haiku-4-5'] },
    ]);
    const table = await screen.findByRole('table', { name: 'API tokens' });
    expect(table).toHaveTextContent('pl-AbCdEfGh…wxyz');
    expect(table).toHaveTextContent('$2.50');
    expect(table).not.toHaveTextContent('secretsecret');

    await user.click(within(secret).getByRole('button', { name: 'Done' }));
    expect(screen.queryByText('pl-AbCdEfGhsecretsecretwxyz')).not.toBeInTheDocument();
  });

  it('lets an admin see whose tokens they are and revoke one', async () => {
    tokenApi([
      {
        id: 7,
        name: 'bob ci',
        prefix: 'pl-12345678',
        last4: 'abcd',
        created_at: '2026-01-01T00:00:00Z',
        expires_at: null,
        last_used_at: null,
        max_budget_usd: null,
        models: [],
        user: { id: 999, email: 'bob@acme.test', name: 'Bob' },
      },
    ]);
    const { user } = renderRoute('/tokens', { as: alice() });

    const table = await screen.findByRole('table', { name: 'API tokens' });
    expect(within(table).getByRole('cell', { name: 'bob@acme.test' })).toBeInTheDocument();
    expect(table).toHaveTextContent('All models');
    await user.click(within(table).getByRole('button', { name: 'Revoke' }));
    await user.click(screen.getByRole('button', { name: 'Yes, revoke' }));
    expect(await screen.findByText('No API tokens yet.')).toBeInTheDocument();
  });
});
