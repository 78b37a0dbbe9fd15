import { screen } from '@testing-library/react';

import { alice } from '@/testing/data-generators';
import { db } from '@/testing/db';
import { renderRoute } from '@/testing/test-utils';

describe('accept invitation', () => {
  it('joins the organization and lands on chat', async () => {
    alice();
    db.invitations.push({
      id: 5,
      email: 'bob@example.com',
      role: 'member',
      token: 'tok5',
      status: 'pending',
      created_at: '2025-01-03T10:00:00Z',
      expires_at: '2025-01-10T10:00:00Z',
    });
    const { user, router } = renderRoute('/invite/tok5');

    expect(await screen.findByRole('heading', { name: 'Join Acme' })).toBeInTheDocument();
    expect(screen.getByText(/bob@example.com/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Your name'), 'Bob');
    await user.type(screen.getByLabelText('Password'), 'bobs long password');
    await user.click(screen.getByRole('button', { name: 'Join' }));

    expect(await screen.findByRole('heading', { name: 'Chat' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/chat');
    expect(screen.queryByRole('navigation', { name: 'Administration' })).not.toBeInTheDocument();
  });

  it('explains an invalid or used link', async () => {
    renderRoute('/invite/nope');
    expect(await screen.findByRole('alert')).toHaveTextContent('This invitation link is not valid');
  });
});
