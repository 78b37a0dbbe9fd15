import { screen, within } from '@testing-library/react';

import { alice, bob } from '@/testing/data-generators';
import { db } from '@/testing/db';
import { renderRoute } from '@/testing/test-utils';

describe('members page', () => {
  it('lists members with role, status and spend', async () => {
    bob();
    renderRoute('/members', { as: alice() });

    const bobCell = await screen.findByRole('cell', { name: 'bob@example.com' });
    const row = bobCell.closest('tr');
    expect(row).not.toBeNull();
    expect(within(row as HTMLElement).getByRole('combobox', { name: 'Role for bob@example.com' })).toHaveValue(
      'member',
    );
    expect(row).toHaveTextContent('Active');
    expect(row).toHaveTextContent('$0.000123');
  });

  it('invites someone and shows the link once with a copy button', async () => {
    const { user } = renderRoute('/members', { as: alice() });

    await user.type(await screen.findByLabelText('Email'), 'carol@example.com');
    await user.selectOptions(screen.getByLabelText('Role'), 'admin');
    await user.click(screen.getByRole('button', { name: 'Invite' }));

    const link = await screen.findByRole('textbox', { name: 'Invitation link' });
    expect(link).toHaveValue(`http://localhost:3000/invite/${db.invitations[0]?.token}`);
    expect(screen.getByRole('button', { name: /Copy link/ })).toBeInTheDocument();
    expect(db.invitations[0]).toMatchObject({ email: 'carol@example.com', role: 'admin' });
    // The pending list refreshes and offers to revoke it.
    const pending = await screen.findByRole('table', { name: 'Pending invitations' });
    expect(within(pending).getByRole('cell', { name: 'carol@example.com' })).toBeInTheDocument();
  });

  it('revokes a pending invitation after confirming', async () => {
    db.invitations.push({
      id: 7,
      email: 'dave@example.com',
      role: 'member',
      token: 'tok7',
      status: 'pending',
      created_at: '2025-01-03T10:00:00Z',
      expires_at: '2025-01-10T10:00:00Z',
    });
    const { user } = renderRoute('/members', { as: alice() });

    await user.click(await screen.findByRole('button', { name: 'Revoke' }));
    await user.click(screen.getByRole('button', { name: 'Yes, revoke' }));

    expect(await screen.findByText('No pending invitations.')).toBeInTheDocument();
    expect(db.invitations[0]?.status).toBe('revoked');
  });

  it('changes a role and deactivates a member', async () => {
    const theBob = bob();
    const { user } = renderRoute('/members', { as: alice() });

    await user.selectOptions(
      await screen.findByRole('combobox', { name: 'Role for bob@example.com' }),
      'admin',
    );
    await vi.waitFor(() => expect(theBob.role).toBe('admin'));

    await user.click(screen.getByRole('button', { name: 'Deactivate bob@example.com' }));
    expect(await screen.findByRole('button', { name: 'Reactivate bob@example.com' })).toBeInTheDocument();
    expect(theBob.is_active).toBe(false);
  });

  it('shows the server’s refusal when a role change is not allowed', async () => {
    const owner = alice();
    const admin = bob();
    admin.role = 'admin';
    const { user } = renderRoute('/members', { as: admin });

    await user.selectOptions(
      await screen.findByRole('combobox', { name: 'Role for alice@example.com' }),
      'member',
    );
    expect(await screen.findByRole('alert')).toHaveTextContent('Only an owner can change an owner.');
    expect(owner.role).toBe('owner');
  });

  it('tells a member they are not allowed', async () => {
    renderRoute('/members', { as: bob() });
    expect(await screen.findByRole('heading', { name: 'Not allowed' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Invite' })).not.toBeInTheDocument();
  });
});
