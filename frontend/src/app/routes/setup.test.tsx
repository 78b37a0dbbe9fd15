import { screen } from '@testing-library/react';

import { db } from '@/testing/db';
import { renderRoute } from '@/testing/test-utils';

describe('first-run setup at /', () => {
  it('creates the organization and lands signed in on chat', async () => {
    db.setupNeeded = true;
    const { user, router } = renderRoute('/');

    await user.type(await screen.findByLabelText('Organization name'), 'Acme Labs');
    await user.type(screen.getByLabelText('Your name'), 'Alice');
    await user.type(screen.getByLabelText('Email'), 'alice@example.com');
    await user.type(screen.getByLabelText('Password'), 'a long password');
    // The time zone is preselected from the browser.
    expect(screen.getByLabelText('Time zone')).not.toHaveValue('');
    await user.click(screen.getByRole('button', { name: 'Create organization' }));

    expect(await screen.findByText('Acme Labs')).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/chat');
    expect(db.users[0]).toMatchObject({ email: 'alice@example.com', role: 'owner' });
  });

  it('shows field errors next to the fields', async () => {
    db.setupNeeded = true;
    const { user } = renderRoute('/');

    await user.type(await screen.findByLabelText('Organization name'), 'Acme');
    await user.type(screen.getByLabelText('Your name'), 'Alice');
    await user.type(screen.getByLabelText('Email'), 'alice@example.com');
    await user.type(screen.getByLabelText('Password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Create organization' }));

    expect(await screen.findByText('This password is too short.')).toBeInTheDocument();
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(db.users).toHaveLength(0);
  });

  it('sends a visitor to login once setup is done', async () => {
    const { router } = renderRoute('/');
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/login');
  });
});
