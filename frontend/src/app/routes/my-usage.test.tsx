import { screen, within } from '@testing-library/react';

import { billing, billingHandlers, resetBilling } from '@/features/billing/testing/fake-billing';
import { bob } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

beforeEach(() => {
  resetBilling();
  server.use(...billingHandlers);
});

describe('my usage page', () => {
  it('shows spend against the limit with the period end, reserve, remaining and models', async () => {
    billing.me = {
      period: { kind: 'weekly', start: '2025-01-06T00:00:00Z', end: '2025-01-13T00:00:00Z' },
      spent_usd: '2.500000000',
      reserved_usd: '0.250000000',
      limit_usd: '10.000000000',
      remaining_usd: '7.250000000',
      by_model: [
        { model: 'gpt-4o', requests: 3, input_tokens: 1200, output_tokens: 800, cost_usd: '2.000000000' },
        { model: 'gpt-4o-mini', requests: 5, input_tokens: 500, output_tokens: 250, cost_usd: '0.500000000' },
      ],
    };
    renderRoute('/my-usage', { as: bob() });

    expect(await screen.findByRole('heading', { name: 'My usage' })).toBeInTheDocument();
    expect(screen.getByText('$2.50 of $10.00')).toBeInTheDocument();
    expect(screen.getByText(/^Resets /)).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'This week' })).toBeInTheDocument();
    const meter = screen.getByRole('meter', { name: 'Budget used' });
    expect(meter).toHaveAttribute('aria-valuenow', '25');
    expect(meter).toHaveAttribute('aria-valuetext', '25% used');
    expect(screen.getByText('Held for replies in progress').nextSibling).toHaveTextContent('$0.25');
    expect(screen.getByText('Remaining').nextSibling).toHaveTextContent('$7.25');

    const table = screen.getByRole('table', { name: 'By model' });
    const row = within(table).getByRole('row', { name: /gpt-4o-mini/ });
    expect(row).toHaveTextContent('5');
    expect(row).toHaveTextContent('$0.50');
    // With no daily series from the server the chart shows spend by model.
    expect(screen.getByRole('figure', { name: 'Spend by model' })).toHaveTextContent('$2.00');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('shows a negative remainder past a soft budget clearly', async () => {
    billing.me = {
      ...billing.me,
      spent_usd: '10.500000000',
      limit_usd: '10.000000000',
      remaining_usd: '-0.500000000',
    };
    renderRoute('/my-usage', { as: bob() });

    const remaining = (await screen.findByText('Remaining')).nextSibling as HTMLElement;
    expect(remaining).toHaveTextContent('-$0.50 (Over by $0.50)');
    expect(remaining).toHaveClass('money-negative');
    expect(screen.getByText(/You are \$0.50 past your budget/)).toBeInTheDocument();
    expect(screen.getByRole('meter', { name: 'Budget used' })).toHaveAttribute('aria-valuenow', '100');
  });

  it('says the budget is used up and when it resets', async () => {
    billing.me = {
      ...billing.me,
      spent_usd: '1.000000000',
      limit_usd: '1.000000000',
      remaining_usd: '0.000000000',
    };
    renderRoute('/my-usage', { as: bob() });

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Budget used up');
    expect(alert).toHaveTextContent(/does not allow more requests until .*2025/);
  });

  it('shows unlimited spend and a daily chart when the server sends one', async () => {
    billing.me = {
      ...billing.me,
      spent_usd: '0.000123400',
      by_day: [
        { day: '2025-01-01', cost_usd: '0.000100000' },
        { day: '2025-01-02', cost_usd: '0.000023400' },
      ],
    };
    renderRoute('/my-usage', { as: bob() });

    expect(await screen.findByText('$0.000123 spent, no limit')).toBeInTheDocument();
    expect(screen.queryByRole('meter')).not.toBeInTheDocument();
    expect(screen.getByText('Remaining').nextSibling).toHaveTextContent('Unlimited');
    expect(screen.getByRole('figure', { name: 'Spend per day' })).toHaveTextContent('2025-01-02: $0.000023');
    expect(screen.getByText('No usage in this period yet.')).toBeInTheDocument();
  });
});
