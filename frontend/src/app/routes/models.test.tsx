import { screen, waitFor, within } from '@testing-library/react';

import { alice, createModel, createProviderKey } from '@/testing/data-generators';
import { db } from '@/testing/db';
import { renderRoute } from '@/testing/test-utils';

describe('models page', () => {
  it('creates a model from a discovered name with catalog prices prefilled', async () => {
    const key = createProviderKey({ label: 'Main' });
    db.upstream[key.id] = {
      models: [
        { name: 'gpt-4o-mini', input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.6' },
        { name: 'gpt-4o', input_usd_per_mtok: '2.5', output_usd_per_mtok: '10' },
      ],
    };
    const { user } = renderRoute('/models', { as: alice() });

    expect(await screen.findByText('No models yet.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Load models from this key' }));
    await user.selectOptions(await screen.findByLabelText('Discovered model'), 'gpt-4o');

    expect(screen.getByLabelText('Model name')).toHaveValue('gpt-4o');
    expect(screen.getByLabelText('Input price (USD per 1M tokens)')).toHaveValue('2.5');
    expect(screen.getByLabelText('Output price (USD per 1M tokens)')).toHaveValue('10');

    // Prices stay editable decimal strings.
    const output = screen.getByLabelText('Output price (USD per 1M tokens)');
    await user.clear(output);
    await user.type(output, '9.75');
    await user.click(screen.getByRole('button', { name: 'Add model' }));

    const table = await screen.findByRole('table', { name: 'Models' });
    expect(within(table).getByText('gpt-4o')).toBeInTheDocument();
    expect(table).toHaveTextContent('$2.50 / 1M / $9.75 / 1M');
    expect(db.models[0]).toMatchObject({
      provider_key: key.id,
      name: 'gpt-4o',
      input_usd_per_mtok: '2.5',
      output_usd_per_mtok: '9.75',
    });
  });

  it('refuses a price that is not a decimal and shows price_unknown from the server', async () => {
    createProviderKey({ label: 'Local', provider: 'openai_compatible' });
    const { user } = renderRoute('/models', { as: alice() });

    await user.type(await screen.findByLabelText('Model name'), 'llama3.2:latest');
    await user.type(screen.getByLabelText('Input price (USD per 1M tokens)'), '1,5');
    await user.click(screen.getByRole('button', { name: 'Add model' }));
    expect(await screen.findByText('Enter a decimal number, e.g. 0.15')).toBeInTheDocument();
    expect(db.models).toHaveLength(0);

    await user.clear(screen.getByLabelText('Input price (USD per 1M tokens)'));
    await user.click(screen.getByRole('button', { name: 'Add model' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('No known price for this model');
  });

  it('disables, edits and deletes a model whose id has a slash', async () => {
    createProviderKey();
    const model = createModel({ id: 'openai/gpt-4o', name: 'openai/gpt-4o' });
    const { user } = renderRoute('/models', { as: alice() });

    const toggle = await screen.findByRole('checkbox', { name: 'Enabled: openai/gpt-4o' });
    expect(toggle).toBeChecked();
    await user.click(toggle);
    await vi.waitFor(() => expect(model.enabled).toBe(false));
    expect(await screen.findByRole('checkbox', { name: 'Enabled: openai/gpt-4o' })).not.toBeChecked();

    await user.click(screen.getByRole('button', { name: 'Edit prices' }));
    const input = screen.getAllByLabelText('Input price (USD per 1M tokens)')[0] as HTMLElement;
    await user.clear(input);
    await user.type(input, '0.2');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await vi.waitFor(() => expect(model.input_usd_per_mtok).toBe('0.2'));

    await user.click(screen.getByRole('button', { name: 'Delete' }));
    await user.click(screen.getByRole('button', { name: 'Yes, delete' }));
    expect(await screen.findByText('No models yet.')).toBeInTheDocument();
  });

  it('chooses the model that titles new conversations, and turns it off again', async () => {
    createProviderKey();
    createModel({ id: 'gpt-4o-mini' });
    createModel({ id: 'old-model', enabled: false });
    const { user } = renderRoute('/models', { as: alice() });

    const select = await screen.findByRole('combobox', { name: 'Title new conversations with' });
    expect(select).toHaveValue('');
    expect(within(select).queryByRole('option', { name: 'old-model' })).not.toBeInTheDocument();

    await user.selectOptions(select, 'gpt-4o-mini');
    expect(await screen.findByText('Saved.')).toBeInTheDocument();
    expect(db.org.title_model).toBe('gpt-4o-mini');
    expect(select).toHaveValue('gpt-4o-mini');

    await user.selectOptions(select, 'Off');
    await waitFor(() => expect(select).toHaveValue(''));
    expect(db.org.title_model).toBeNull();
  });
});
