import { screen, within } from '@testing-library/react';

import { billing, billingHandlers, resetBilling } from '@/features/billing/testing/fake-billing';
import { alice, bob } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

beforeEach(() => {
  resetBilling();
  server.use(...billingHandlers);
});

const rowOf = async (email: string) => {
  const table = await screen.findByRole('table', { name: 'Members' });
  return within(table).findByRole('row', { name: new RegExp(email) });
};

describe('budgets page', () => {
  it('lists members with spend and budget, and saves one member’s budget inline', async () => {
    const owner = alice();
    const member = bob();
    billing.userBudgets[owner.id] = {
      limit_usd: '100.000000000',
      period: 'monthly',
      enforcement: 'soft',
      warn_at_percent: [80],
    };
    const { user } = renderRoute('/budgets', { as: owner });

    const aliceRow = await rowOf('alice@example.com');
    expect(await within(aliceRow).findByRole('textbox', { name: 'Limit (USD)' })).toHaveValue('100');
    expect(within(aliceRow).getByRole('combobox', { name: 'Enforcement' })).toHaveValue('soft');
    expect(aliceRow).toHaveTextContent('Own budget');
    expect(aliceRow).toHaveTextContent('$1.25');

    const bobRow = await rowOf('bob@example.com');
    expect(bobRow).toHaveTextContent('Uses the default');
    const limit = await within(bobRow).findByRole('textbox', { name: 'Limit (USD)' });
    expect(limit).toHaveValue('');
    await user.type(limit, '25.50');
    await user.selectOptions(within(bobRow).getByRole('combobox', { name: 'Period' }), 'daily');
    await user.selectOptions(within(bobRow).getByRole('combobox', { name: 'Enforcement' }), 'soft');
    await user.click(within(bobRow).getByRole('button', { name: 'Save budget for bob@example.com' }));

    expect(await within(bobRow).findByRole('status')).toHaveTextContent('Saved');
    // Money goes out as a decimal string, never a JSON number.
    expect(billing.puts).toEqual([
      {
        url: `/api/budgets/users/${member.id}/`,
        body: { limit_usd: '25.50', period: 'daily', enforcement: 'soft', warn_at_percent: [] },
      },
    ]);
    expect(bobRow).toHaveTextContent('Own budget');
    expect(within(bobRow).getByRole('textbox', { name: 'Limit (USD)' })).toHaveValue('25.5');
  });

  it('shows a bad limit next to the field, then the server’s validation error', async () => {
    bob();
    const { user } = renderRoute('/budgets', { as: alice() });

    const bobRow = await rowOf('bob@example.com');
    const limit = await within(bobRow).findByRole('textbox', { name: 'Limit (USD)' });
    await user.type(limit, '12,5');
    await user.click(within(bobRow).getByRole('button', { name: 'Save budget for bob@example.com' }));
    expect(within(bobRow).getByRole('alert')).toHaveTextContent('Enter an amount like 10 or 2.50');
    expect(limit).toHaveAttribute('aria-invalid', 'true');
    expect(billing.puts).toHaveLength(0);

    await user.clear(limit);
    await user.type(limit, '123456789012');
    await user.type(limit, '{Enter}');
    expect(await within(bobRow).findByRole('alert')).toHaveTextContent(
      'Ensure that there are no more than 11 digits before the decimal point.',
    );
    expect(billing.puts).toHaveLength(1);
  });

  it('edits the default budget and the organization cap', async () => {
    const { user } = renderRoute('/budgets', { as: alice() });

    const defaults = (await screen.findByRole('heading', { name: 'Default budget' })).closest('section') as HTMLElement;
    const limit = await within(defaults).findByLabelText('Limit (USD)');
    await user.type(limit, '5');
    const warn = within(defaults).getByLabelText('Warn at (%)');
    await user.type(warn, '50, 150');
    await user.click(within(defaults).getByRole('button', { name: 'Save default budget' }));
    expect(within(defaults).getByRole('alert')).toHaveTextContent('Enter whole percentages from 1 to 100');
    await user.clear(warn);
    await user.type(warn, '80, 50');
    await user.click(within(defaults).getByRole('button', { name: 'Save default budget' }));
    expect(await within(defaults).findByRole('status')).toHaveTextContent('Saved');
    expect(billing.defaultBudget).toMatchObject({ limit_usd: '5.000000000', warn_at_percent: [50, 80] });

    const org = screen.getByRole('heading', { name: 'Organization cap' }).closest('section') as HTMLElement;
    await user.type(await within(org).findByLabelText('Limit (USD)'), '1000');
    await user.selectOptions(within(org).getByLabelText('Period'), 'total');
    await user.click(within(org).getByRole('button', { name: 'Save organization cap' }));
    expect(await within(org).findByRole('status')).toHaveTextContent('Saved');
    expect(billing.orgBudget).toMatchObject({ limit_usd: '1000.000000000', period: 'total', enforcement: 'hard' });
  });

  it('keeps members out', async () => {
    renderRoute('/budgets', { as: bob() });
    expect(await screen.findByRole('heading', { name: 'Not allowed' })).toBeInTheDocument();
    expect(billing.requests).toHaveLength(0);
  });
});
