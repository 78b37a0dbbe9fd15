import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';

import { FakeSocket, withFakeChatSocket } from '@/features/chat/testing/fake-socket';
import type { Message } from '@/features/chat/types/chat';
import { alice } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

// The models API also sends a cache-write price and the model's output cap: both move the worst
// case (the dearest input-side price; min(org default 4096, 1024) answer tokens).
const model = {
  id: 'gpt-4o-mini',
  provider: 'openai',
  provider_key: 1,
  name: 'gpt-4o-mini',
  input_usd_per_mtok: '0.150000000',
  output_usd_per_mtok: '0.600000000',
  cached_input_usd_per_mtok: '0.075000000',
  cache_write_usd_per_mtok: '0.187500000',
  max_output_tokens: 1024,
  enabled: true,
};

const usage = {
  period: { kind: 'monthly', start: '2025-01-01T00:00:00Z', end: '2025-02-01T00:00:00Z' },
  spent_usd: '3.700000000',
  reserved_usd: '0.100000000',
  limit_usd: '5.000000000',
  remaining_usd: '1.200000000',
  by_model: [],
};

function serve({ messages = [] as Message[], systemPrompt = '' } = {}): void {
  server.use(
    http.get('*/api/models/', () => HttpResponse.json([model])),
    http.get('*/api/usage/me/', () => HttpResponse.json(usage)),
    http.get('*/api/conversations/', () =>
      HttpResponse.json([
        {
          id: 1,
          title: 'Soup',
          model: 'gpt-4o-mini',
          system_prompt: systemPrompt,
          created_at: '2025-01-03T10:00:00Z',
          updated_at: '2025-01-03T10:00:00Z',
          archived: false,
        },
      ]),
    ),
    http.get('*/api/conversations/:id/messages/', () => HttpResponse.json(messages)),
  );
}

const meter = (): HTMLElement => screen.getByTestId('budget-meter');

withFakeChatSocket();

describe('chat budget meter and cost preview', () => {
  it('shows what is left, the next message’s worst case, and follows budget frames', async () => {
    serve();
    const { user } = renderRoute('/chat', { as: alice() });
    expect(await screen.findByText('$1.20 of $5.00 left this month')).toBeInTheDocument();
    FakeSocket.latest().open();
    expect(within(meter()).getByRole('meter', { name: 'Budget left' })).toHaveAttribute(
      'aria-valuenow',
      '24',
    );
    expect(screen.queryByTestId('cost-preview')).not.toBeInTheDocument();

    // billing.pricing: prompt_tokens_upper_bound(['Hello'], None) = 21;
    // worst_case_cost(21, 1024, 0.15/0.6/cached 0.075/write 0.1875) = 0.000618338 → shown ≥ it.
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'Hello');
    expect(await screen.findByText('Up to $0.000619 for this message')).toBeInTheDocument();
    expect(screen.queryByTestId('cost-warning')).not.toBeInTheDocument();

    // Settlement sends budget.updated: the meter follows without a refetch, and with less left
    // than the worst case the composer warns (max_tokens_that_fit(0.0004, 21, …) = 660).
    const socket = FakeSocket.latest();
    socket.push({
      type: 'budget.updated',
      spent_usd: '4.999600000',
      limit_usd: '5.000000000',
      remaining_usd: '0.000400000',
      period_end: '2025-02-01T00:00:00Z',
    });
    expect(await screen.findByText('$0.0004 of $5.00 left this month')).toBeInTheDocument();
    expect(meter()).toHaveClass('budget-meter-low');
    expect(screen.getByTestId('cost-warning')).toHaveTextContent(
      'Only $0.0004 of your budget is left, less than this message’s worst case ($0.000619). With a hard budget the server will shorten the answer to at most 660 tokens.',
    );

    // Past a soft budget what remains is negative: shown as an overspend, in the warning colour.
    socket.push({
      type: 'budget.updated',
      spent_usd: '5.250000000',
      limit_usd: '5.000000000',
      remaining_usd: '-0.250000000',
      period_end: '2025-02-01T00:00:00Z',
    });
    expect(await screen.findByText('$0.25 over your $5.00 budget')).toBeInTheDocument();
    expect(meter()).toHaveClass('budget-meter-low');
    expect(screen.getByTestId('cost-warning')).toHaveTextContent('You are $0.25 over your budget.');

    // The admin removes the limit.
    socket.push({
      type: 'budget.updated',
      spent_usd: '5.250000000',
      limit_usd: null,
      remaining_usd: null,
      period_end: '2025-02-01T00:00:00Z',
    });
    expect(await screen.findByText('No limit')).toBeInTheDocument();
    expect(screen.queryByTestId('cost-warning')).not.toBeInTheDocument();
    expect(screen.getByText('Up to $0.000619 for this message')).toBeInTheDocument();
  });

  it('shows a budget warning once, until dismissed', async () => {
    serve();
    const { user } = renderRoute('/chat', { as: alice() });
    expect(await screen.findByText('$1.20 of $5.00 left this month')).toBeInTheDocument();
    FakeSocket.latest().open();

    const warning = {
      type: 'budget.warning',
      percent: 80,
      spent_usd: '4.000000000',
      limit_usd: '5.000000000',
      period_end: '2025-02-01T00:00:00Z',
    };
    FakeSocket.latest().push(warning);
    expect(
      await screen.findByText('You have used 80% of your budget ($4.00 of $5.00).'),
    ).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByText(/You have used 80%/)).not.toBeInTheDocument();

    // The same threshold again (another tab's scan, a retry) is not shown twice; the next is.
    FakeSocket.latest().push(warning);
    expect(screen.queryByText(/You have used 80%/)).not.toBeInTheDocument();
    FakeSocket.latest().push({ ...warning, percent: 90, spent_usd: '4.500000000' });
    expect(
      await screen.findByText('You have used 90% of your budget ($4.50 of $5.00).'),
    ).toBeInTheDocument();
  });

  it('measures the whole branch with the system prompt, merging after a failed answer', async () => {
    const base = {
      conversation_id: 1,
      model: 'gpt-4o-mini',
      error: null,
      usage: null,
      cost_usd: '0',
    };
    serve({
      systemPrompt: 'Answer in Spanish.',
      messages: [
        { ...base, id: 1, parent_id: null, role: 'user', content: 'Soup?', status: 'complete', created_at: '2025-01-03T10:00:01Z' },
        { ...base, id: 2, parent_id: 1, role: 'assistant', content: 'Try gazpacho.', status: 'complete', created_at: '2025-01-03T10:00:02Z' },
        { ...base, id: 3, parent_id: 2, role: 'user', content: 'And bread?', status: 'complete', created_at: '2025-01-03T10:00:03Z' },
        {
          ...base,
          id: 4,
          parent_id: 3,
          role: 'assistant',
          content: '',
          status: 'failed',
          error: { code: 'provider_error', message: 'Upstream failed.' },
          created_at: '2025-01-03T10:00:04Z',
        },
      ],
    });
    const { user } = renderRoute('/chat/1', { as: alice() });
    expect(await screen.findByText('Try gazpacho.')).toBeInTheDocument();
    FakeSocket.latest().open();
    await waitFor(() => expect(screen.getByTestId('budget-meter')).toBeInTheDocument());

    // prompt_tokens_upper_bound(['Soup?', 'Try gazpacho.', 'And bread?\n\nAnd wine? 🍷'],
    // 'Answer in Spanish.') = 102; worst_case_cost(102, 1024, …) = 0.000633525.
    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'And wine? 🍷');
    expect(await screen.findByText('Up to $0.000634 for this message')).toBeInTheDocument();
  });
});
