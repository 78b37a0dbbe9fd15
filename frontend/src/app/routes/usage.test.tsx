import { screen, within } from '@testing-library/react';

import { addRecord, billing, billingHandlers, resetBilling } from '@/features/billing/testing/fake-billing';
import { alice, bob } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

beforeEach(() => {
  resetBilling();
  server.use(...billingHandlers);
});

describe('usage dashboard', () => {
  it('shows spend by member, model and day for the range, the ledger and a CSV link with the range', async () => {
    const owner = alice();
    const member = bob();
    addRecord({ user: member.id, user_email: member.email, model: 'gpt-4o', cost_usd: '1.250000000', created_at: '2025-01-03T09:00:00Z' });
    addRecord({ user: member.id, user_email: member.email, cost_usd: '0.000045000', created_at: '2025-01-05T09:00:00Z' });
    addRecord({ user: owner.id, user_email: owner.email, cost_usd: '0.500000000', created_at: '2025-01-05T10:00:00Z' });
    addRecord({ user: owner.id, user_email: owner.email, cost_usd: '9.000000000', created_at: '2025-02-05T10:00:00Z' });
    const { user } = renderRoute('/usage?from=2025-01-01&to=2025-01-31', { as: owner });

    expect(await screen.findByLabelText('From')).toHaveValue('2025-01-01');
    expect(screen.getByLabelText('To')).toHaveValue('2025-01-31');
    expect(screen.getByRole('link', { name: 'Download CSV' })).toHaveAttribute(
      'href',
      '/api/usage/export.csv?from=2025-01-01&to=2025-01-31',
    );
    // The February record is outside the range: the total is exact, with no float drift.
    expect(await screen.findByText('Total')).toBeInTheDocument();
    expect(screen.getByText('Total').nextSibling).toHaveTextContent('$1.750045');

    const members = screen.getByRole('table', { name: 'Member' });
    expect(within(members).getByRole('row', { name: /bob@example.com/ })).toHaveTextContent('$1.250045');
    const models = screen.getByRole('table', { name: 'Model' });
    expect(within(models).getByRole('row', { name: /gpt-4o-mini/ })).toHaveTextContent('$0.500045');
    const days = screen.getByRole('figure', { name: 'By day' });
    expect(within(days).getAllByRole('listitem')).toHaveLength(31);
    // Each column is a list item named by its <title>, as a screen reader announces it.
    expect(within(days).getByRole('listitem', { name: '2025-01-03: $1.25' })).toBeInTheDocument();
    // Sizes are SVG attributes, never style attributes: a strict style-src CSP needs no exception.
    expect(days.querySelector('[style]')).toBeNull();

    const ledger = screen.getByRole('table', { name: 'Ledger' });
    expect(within(ledger).getAllByRole('row')).toHaveLength(4);
    expect(screen.getByText('Page 1 of 1 · 3 records')).toBeInTheDocument();

    // A new range asks the server again and moves the CSV link with it.
    const from = screen.getByLabelText('From');
    await user.clear(from);
    await user.type(from, '2025-01-04');
    expect(await screen.findByText('Page 1 of 1 · 2 records')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Download CSV' })).toHaveAttribute(
      'href',
      '/api/usage/export.csv?from=2025-01-04&to=2025-01-31',
    );
    expect(billing.requests).toContain('/api/usage/summary/?from=2025-01-04&to=2025-01-31&group_by=user');
  });

  it('pages through the ledger', async () => {
    const owner = alice();
    for (let day = 1; day <= 60; day += 1) {
      const date = new Date(Date.UTC(2025, 0, 1, 0, day)).toISOString();
      addRecord({ user: owner.id, user_email: owner.email, created_at: date });
    }
    const { user } = renderRoute('/usage?from=2025-01-01&to=2025-01-31', { as: owner });

    expect(await screen.findByText('Page 1 of 2 · 60 records')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Previous page' })).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('Page 2 of 2 · 60 records')).toBeInTheDocument();
    expect(within(screen.getByRole('table', { name: 'Ledger' })).getAllByRole('row')).toHaveLength(11);
    expect(billing.requests).toContain('/api/usage/records/?from=2025-01-01&to=2025-01-31&page=2&page_size=50');
  });

  it('refuses a range that ends before it starts', async () => {
    renderRoute('/usage?from=2025-02-01&to=2025-01-01', { as: alice() });

    expect(await screen.findByRole('alert')).toHaveTextContent('The end date is before the start date.');
    expect(screen.queryByRole('link', { name: 'Download CSV' })).not.toBeInTheDocument();
    expect(billing.requests).toHaveLength(0);
  });

  it('defaults to this month so far', async () => {
    renderRoute('/usage', { as: alice() });
    const from = (await screen.findByLabelText('From')) as HTMLInputElement;
    expect(from.value).toMatch(/^\d{4}-\d{2}-01$/);
    expect(await screen.findByText('No usage records in this range.')).toBeInTheDocument();
  });
});
