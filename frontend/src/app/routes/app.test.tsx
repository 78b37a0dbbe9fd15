import { act, screen, within } from '@testing-library/react';

import { NAV_COLLAPSED_KEY } from '@/app/nav-collapse';
import { alice, bob } from '@/testing/data-generators';
import { renderRoute } from '@/testing/test-utils';

describe('app frame', () => {
  it('shows the org name and the admin navigation to an admin', async () => {
    renderRoute('/chat', { as: alice() });
    expect(await screen.findByText('Acme')).toBeInTheDocument();
    const adminNav = screen.getByRole('navigation', { name: 'Administration' });
    expect(adminNav).toHaveTextContent('Members');
    expect(adminNav).toHaveTextContent('Provider keys');
  });

  it('hides the admin navigation from a member', async () => {
    renderRoute('/chat', { as: bob() });
    expect(await screen.findByRole('navigation', { name: 'Main' })).toBeInTheDocument();
    expect(screen.queryByRole('navigation', { name: 'Administration' })).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Members' })).not.toBeInTheDocument();
  });

  it('shows the menu as an icon rail on the chat screen until the user widens it, and remembers that', async () => {
    const first = renderRoute('/chat', { as: alice() });
    const toggle = await screen.findByRole('button', { name: 'Side menu' });
    const sidebar = document.getElementById('sidebar')!;
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(toggle).toHaveAttribute('aria-controls', 'sidebar');
    expect(sidebar).toHaveClass('collapsed');
    // The rail keeps each link's name for screen readers and as a tooltip.
    const members = within(sidebar).getByRole('link', { name: 'Members' });
    expect(members).toHaveAttribute('title', 'Members');

    // Keyboard: focus the toggle and press Enter.
    toggle.focus();
    await first.user.keyboard('{Enter}');
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(sidebar).not.toHaveClass('collapsed');
    expect(members).not.toHaveAttribute('title');
    expect(localStorage.getItem(NAV_COLLAPSED_KEY)).toBe('false');
    first.unmount();

    // A reload keeps the choice.
    renderRoute('/chat', { as: alice() });
    expect(await screen.findByRole('button', { name: 'Side menu' })).toHaveAttribute('aria-expanded', 'true');
  });

  it('shows the full menu on other pages by default, and a collapse chosen there holds on every page', async () => {
    const { user, router } = renderRoute('/my-usage', { as: bob() });
    const toggle = await screen.findByRole('button', { name: 'Side menu' });
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await user.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await act(() => router.navigate('/tokens'));
    expect(await screen.findByRole('button', { name: 'Side menu' })).toHaveAttribute('aria-expanded', 'false');
    expect(localStorage.getItem(NAV_COLLAPSED_KEY)).toBe('true');
  });

  it('gives the phone menu button and the conversations button different names', async () => {
    renderRoute('/chat', { as: bob() });
    expect(await screen.findByRole('button', { name: 'Open the app menu' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Show conversations' })).toBeInTheDocument();
  });
});
