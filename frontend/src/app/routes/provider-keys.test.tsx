import { screen, within } from '@testing-library/react';

import { alice, bob, createProviderKey } from '@/testing/data-generators';
import { db } from '@/testing/db';
import { renderRoute } from '@/testing/test-utils';

describe('provider keys page', () => {
  it('adds an OpenAI-compatible key from a preset and shows the discovered models', async () => {
    const { user } = renderRoute('/provider-keys', { as: alice() });

    expect(await screen.findByText(/No provider keys yet/)).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('Provider'), 'openai_compatible');
    await user.selectOptions(screen.getByLabelText('Server'), 'openrouter');
    expect(screen.getByLabelText('Base URL')).toHaveValue('https://openrouter.ai/api/v1');
    await user.type(screen.getByLabelText('API key'), 'sk-or-secret-9876');
    await user.click(screen.getByRole('button', { name: 'Add key' }));

    const card = await screen.findByRole('article', { name: 'OpenRouter' });
    expect(card).toHaveTextContent('…9876');
    expect(card).not.toHaveTextContent('sk-or-secret');
    expect(card).toHaveTextContent('Never');
    expect(db.providerKeys[0]).toMatchObject({
      provider: 'openai_compatible',
      base_url: 'https://openrouter.ai/api/v1',
    });
    // The form forgets the secret once it is stored.
    expect(screen.getByLabelText('API key')).toHaveValue('');

    const keyId = db.providerKeys[0]?.id ?? 0;
    db.upstream[keyId] = {
      models: [
        { name: 'openai/gpt-4o-mini', input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.6' },
        { name: 'local/llama', input_usd_per_mtok: null, output_usd_per_mtok: null },
      ],
    };
    await user.click(within(card).getByRole('button', { name: 'Test' }));

    expect(await within(card).findByText('The key works. 2 models found.')).toBeInTheDocument();
    const table = within(card).getByRole('table', { name: 'Discovered models for OpenRouter' });
    expect(within(table).getByRole('cell', { name: 'openai/gpt-4o-mini' })).toBeInTheDocument();
    expect(table).toHaveTextContent('$0.15 / 1M');
    expect(table).toHaveTextContent('$0.60 / 1M');
  });

  it('shows a failed test and a missing base URL clearly', async () => {
    const key = createProviderKey({ label: 'Prod OpenAI' });
    db.upstream[key.id] = { error: { code: 'provider_auth', message: 'The provider refused the key.' } };
    const { user } = renderRoute('/provider-keys', { as: alice() });

    const card = await screen.findByRole('article', { name: 'Prod OpenAI' });
    await user.click(within(card).getByRole('button', { name: 'Test' }));
    const alert = await within(card).findByRole('alert');
    expect(alert).toHaveTextContent('The key did not work');
    expect(alert).toHaveTextContent('The provider refused the key.');

    await user.selectOptions(screen.getByLabelText('Provider'), 'openai_compatible');
    await user.selectOptions(screen.getByLabelText('Server'), 'custom');
    await user.type(screen.getByLabelText('API key'), 'anything');
    // Bypass the browser's own "required" check to see the server's field error.
    screen.getByLabelText('Base URL').removeAttribute('required');
    await user.click(screen.getByRole('button', { name: 'Add key' }));
    expect(await screen.findByText('A base URL is required for this provider.')).toBeInTheDocument();
  });

  it('rotates and deletes a key', async () => {
    const key = createProviderKey({ label: 'Old', api_key: 'sk-old-1111' });
    const { user } = renderRoute('/provider-keys', { as: alice() });

    const card = await screen.findByRole('article', { name: 'Old' });
    await user.click(within(card).getByRole('button', { name: 'Rotate' }));
    await user.type(within(card).getByLabelText('New API key'), 'sk-new-2222');
    await user.click(within(card).getByRole('button', { name: 'Save new key' }));
    expect(await within(card).findByText('…2222')).toBeInTheDocument();
    expect(key.api_key).toBe('sk-new-2222');

    await user.click(within(card).getByRole('button', { name: 'Delete' }));
    await user.click(within(card).getByRole('button', { name: 'Yes, delete' }));
    expect(await screen.findByText(/No provider keys yet/)).toBeInTheDocument();
  });

  it('is not shown to a member', async () => {
    renderRoute('/provider-keys', { as: bob() });
    expect(await screen.findByRole('heading', { name: 'Not allowed' })).toBeInTheDocument();
  });
});
