import { screen } from '@testing-library/react';

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
});
