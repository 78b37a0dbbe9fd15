import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';

import { silenceWatch } from '@/features/chat/hooks/use-chat-socket';
import { FakeSocket, withFakeChatSocket } from '@/features/chat/testing/fake-socket';
import type { Message } from '@/features/chat/types/chat';
import { alice, bob, createModel, createProviderKey } from '@/testing/data-generators';
import { db } from '@/testing/db';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

let seconds = 0;
function message(fields: Partial<Message> & Pick<Message, 'id' | 'parent_id' | 'role'>): Message {
  seconds += 1;
  return {
    conversation_id: 1,
    content: `message ${fields.id}`,
    model: fields.role === 'assistant' ? 'gpt-4o-mini' : '',
    status: 'complete',
    error: null,
    usage: null,
    cost_usd: '0',
    created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, seconds)).toISOString(),
    ...fields,
  };
}

const conversation = {
  id: 1,
  title: 'Soup recipes',
  model: 'gpt-4o-mini',
  system_prompt: '',
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
  archived: false,
};

function serveConversation(messages: Message[]): { messageFetches: () => number } {
  let fetches = 0;
  server.use(
    http.get('*/api/conversations/', () => HttpResponse.json([conversation])),
    http.get('*/api/conversations/:id/messages/', () => {
      fetches += 1;
      return HttpResponse.json(messages);
    }),
  );
  return { messageFetches: () => fetches };
}

function setup(): ReturnType<typeof alice> {
  createProviderKey();
  createModel({ input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.6' });
  return alice();
}

withFakeChatSocket();

describe('chat route', () => {
  it('shows the latest branch of the tree and switches between versions', async () => {
    // Two versions of the first question; the second was answered twice (regenerated).
    serveConversation([
      message({ id: 1, parent_id: null, role: 'user', content: 'First question' }),
      message({ id: 2, parent_id: 1, role: 'assistant', content: 'First answer' }),
      message({ id: 3, parent_id: null, role: 'user', content: 'Edited question' }),
      message({ id: 4, parent_id: 3, role: 'assistant', content: 'Old answer' }),
      message({ id: 5, parent_id: 3, role: 'assistant', content: 'Regenerated answer' }),
    ]);
    const { user } = renderRoute('/chat/1', { as: setup() });

    expect(await screen.findByText('Edited question')).toBeInTheDocument();
    expect(await screen.findByText('Regenerated answer')).toBeInTheDocument();
    expect(screen.queryByText('First question')).not.toBeInTheDocument();
    expect(screen.getAllByText('2/2')).toHaveLength(2);
    expect(screen.getByRole('heading', { name: 'Soup recipes' })).toBeInTheDocument();
    const sidebar = screen.getByRole('complementary', { name: 'Conversations' });
    expect(within(sidebar).getByRole('heading', { name: 'Today' })).toBeInTheDocument();

    await user.click(screen.getAllByRole('button', { name: 'Previous version' })[1]!);
    expect(await screen.findByText('Old answer')).toBeInTheDocument();
    expect(screen.queryByText('Regenerated answer')).not.toBeInTheDocument();

    await user.click(screen.getAllByRole('button', { name: 'Previous version' })[0]!);
    expect(await screen.findByText('First question')).toBeInTheDocument();
    expect(await screen.findByText('First answer')).toBeInTheDocument();
    expect(screen.getByText('1/2')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Next version' }));
    // The choice made further down that branch is remembered.
    expect(await screen.findByText('Old answer')).toBeInTheDocument();
  });

  it('sends with Enter on the visible branch, streams the answer, stops it with Esc', async () => {
    serveConversation([
      message({ id: 1, parent_id: null, role: 'user', content: 'Hi' }),
      message({ id: 2, parent_id: 1, role: 'assistant', content: 'Hello!' }),
    ]);
    const { user } = renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Hello!')).toBeInTheDocument();
    const socket = FakeSocket.latest();
    socket.open();
    expect(await screen.findByText('Live')).toBeInTheDocument();
    expect(socket.sent).toContainEqual({ type: 'conversation.subscribe', conversation_id: 1 });

    const model = await screen.findByRole('combobox', { name: 'Model' });
    await waitFor(() => expect(model).toHaveValue('gpt-4o-mini'));
    expect(model).toHaveTextContent('$0.15 / 1M');
    expect(model).toHaveTextContent('$0.60 / 1M');

    const box = screen.getByRole('textbox', { name: 'Message' });
    await user.type(box, 'Tell me{Shift>}{Enter}{/Shift}more{Enter}');
    const send = socket.sent.find((frame) => frame.type === 'message.send');
    expect(send).toMatchObject({
      conversation_id: 1,
      parent_id: 2,
      model: 'gpt-4o-mini',
      content: 'Tell me\nmore',
    });
    expect(box).toHaveValue('');

    const clientId = send?.client_id;
    const question = message({ id: 3, parent_id: 2, role: 'user', content: 'Tell me\nmore' });
    const answer = message({ id: 4, parent_id: 3, role: 'assistant', content: '', status: 'pending' });
    socket.push({ type: 'message.created', message: question, client_id: clientId });
    socket.push({ type: 'message.created', message: answer, client_id: clientId });
    socket.push({ type: 'message.delta', message_id: 4, seq: 0, text: 'Once upon ' });
    socket.push({ type: 'message.delta', message_id: 4, seq: 1, text: 'a time' });
    socket.push({ type: 'message.delta', message_id: 4, seq: 1, text: 'a time' });
    expect(await screen.findByText('Once upon a time')).toBeInTheDocument();

    expect(screen.getByRole('button', { name: 'Stop' })).toBeInTheDocument();
    await user.type(box, '{Escape}');
    expect(socket.sent).toContainEqual({ type: 'generation.stop', message_id: 4 });

    socket.push({
      type: 'message.completed',
      message: {
        ...answer,
        status: 'stopped',
        content: 'Once upon a time',
        usage: { input_tokens: 1200, output_tokens: 3, cached_input_tokens: 0, reasoning_tokens: 0 },
        cost_usd: '0.000181800',
      },
    });
    expect(await screen.findByText(/1,200 in · 3 out tokens/)).toHaveTextContent(
      'gpt-4o-mini · 1,200 in · 3 out tokens · cost $0.000182 · stopped',
    );
    expect(screen.getByRole('button', { name: 'Send' })).toBeInTheDocument();

    await user.click(screen.getAllByRole('button', { name: 'Regenerate' }).at(-1)!);
    expect(socket.sent).toContainEqual({ type: 'message.regenerate', message_id: 4 });
  });

  it('edits a question into a new branch with its parent', async () => {
    serveConversation([
      message({ id: 1, parent_id: null, role: 'user', content: 'Hi' }),
      message({ id: 2, parent_id: 1, role: 'assistant', content: 'Hello!' }),
      message({ id: 3, parent_id: 2, role: 'user', content: 'Soup?' }),
      message({ id: 4, parent_id: 3, role: 'assistant', content: 'Yes.' }),
    ]);
    const { user } = renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Soup?')).toBeInTheDocument();
    const socket = FakeSocket.latest();
    socket.open();

    await user.click(screen.getAllByRole('button', { name: 'Edit' })[1]!);
    const editor = screen.getByRole('textbox', { name: 'Edit message' });
    await user.clear(editor);
    await user.type(editor, 'Stew?');
    await user.click(screen.getByRole('button', { name: 'Save and send' }));
    expect(socket.sent.find((frame) => frame.type === 'message.send')).toMatchObject({
      conversation_id: 1,
      parent_id: 2,
      content: 'Stew?',
    });
  });

  it('explains a budget refusal and a refused frame', async () => {
    serveConversation([message({ id: 1, parent_id: null, role: 'user', content: 'Hi' })]);
    const { user } = renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Hi')).toBeInTheDocument();
    const socket = FakeSocket.latest();
    socket.open();

    socket.push({
      type: 'message.failed',
      message: message({
        id: 2,
        parent_id: 1,
        role: 'assistant',
        content: '',
        status: 'failed',
        error: { code: 'budget_exceeded', message: 'Monthly limit of $5.00 reached.' },
      }),
    });
    expect(await screen.findByText('Your budget does not allow this request.')).toBeInTheDocument();
    expect(screen.getByText(/Monthly limit of \$5\.00 reached\./)).toBeInTheDocument();

    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'Again{Enter}');
    const send = socket.sent.find((frame) => frame.type === 'message.send');
    socket.push({ type: 'error', code: 'rate_limited', message: 'Slow down.', client_id: send?.client_id });
    expect(await screen.findByText('Too many requests. Wait a moment and try again.')).toBeInTheDocument();
    // Nothing the user wrote is lost: the refused text is back in the composer.
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('Again');
  });

  it('says what is down when a send is refused by an outage, and keeps the text', async () => {
    serveConversation([message({ id: 1, parent_id: null, role: 'user', content: 'Hi' })]);
    const { user } = renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Hi')).toBeInTheDocument();
    const socket = FakeSocket.latest();
    socket.open();

    await user.type(screen.getByRole('textbox', { name: 'Message' }), 'Later{Enter}');
    const send = socket.sent.find((frame) => frame.type === 'message.send');
    socket.push({
      type: 'error',
      code: 'service_unavailable',
      message: 'The database is unreachable right now. Try again in a moment.',
      detail: { service: 'database' },
      client_id: send?.client_id,
    });
    expect(
      await screen.findByText('A service Potluck needs is down. Nothing was sent; try again shortly.'),
    ).toBeInTheDocument();
    expect(screen.getByText(/The database is unreachable/)).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('Later');
  });

  it('shows the reconnect state and refetches the conversation when the socket reopens', async () => {
    const api = serveConversation([message({ id: 1, parent_id: null, role: 'user', content: 'Hi' })]);
    renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Hi')).toBeInTheDocument();
    expect(screen.getByText('Connecting…')).toBeInTheDocument();
    FakeSocket.latest().open();
    expect(api.messageFetches()).toBe(1);

    FakeSocket.latest().drop();
    expect(await screen.findByText('Reconnecting…')).toBeInTheDocument();
    await waitFor(() => expect(FakeSocket.instances).toHaveLength(2));
    FakeSocket.latest().open();
    expect(await screen.findByText('Live')).toBeInTheDocument();
    await waitFor(() => expect(api.messageFetches()).toBe(2));
    expect(FakeSocket.latest().sent).toContainEqual({ type: 'conversation.subscribe', conversation_id: 1 });
  });

  it('goes to the login page when the server closes the socket with 4401', async () => {
    serveConversation([message({ id: 1, parent_id: null, role: 'user', content: 'Hi' })]);
    renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Hi')).toBeInTheDocument();
    FakeSocket.latest().open();

    db.sessionUserId = null; // the session expired on the server
    FakeSocket.latest().drop(4401);
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
    expect(screen.queryByText('Hi')).not.toBeInTheDocument();
    // No reconnect loop: the server said the session is gone.
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('reconnects, signed in, when a 4401 comes from a socket of an earlier session', async () => {
    serveConversation([message({ id: 1, parent_id: null, role: 'user', content: 'Hi' })]);
    renderRoute('/chat/1', { as: setup() });
    expect(await screen.findByText('Hi')).toBeInTheDocument();
    FakeSocket.latest().open();

    // Logged out and back in while this socket stayed open: the server closes it, but the
    // browser's session is a live one.
    FakeSocket.latest().drop(4401);
    await waitFor(() => expect(FakeSocket.instances).toHaveLength(2));
    expect(screen.getByText('Hi')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Log in' })).not.toBeInTheDocument();
  });

  it('refetches a conversation whose generating answer stays silent', async () => {
    const { silenceMs } = silenceWatch;
    silenceWatch.silenceMs = 300;
    try {
      const messages = [
        message({ id: 1, parent_id: null, role: 'user', content: 'Hi' }),
        message({ id: 2, parent_id: 1, role: 'assistant', content: 'Hel', status: 'streaming' }),
      ];
      const api = serveConversation(messages);
      renderRoute('/chat/1', { as: setup() });
      expect(await screen.findByText('Hel')).toBeInTheDocument();
      FakeSocket.latest().open();
      // The answer ended on the server, but its message.completed never arrived.
      messages[1] = { ...messages[1]!, content: 'Hello, stored', status: 'complete' };
      expect(await screen.findByText('Hello, stored', {}, { timeout: 3000 })).toBeInTheDocument();
      expect(api.messageFetches()).toBe(2);
      // Nothing generates any more: no further refetches.
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(api.messageFetches()).toBe(2);
    } finally {
      silenceWatch.silenceMs = silenceMs;
    }
  });

  it('starts a new conversation and moves to it when the server creates it', async () => {
    serveConversation([]);
    const { user, router } = renderRoute('/chat', { as: setup() });
    const box = await screen.findByRole('textbox', { name: 'Message' });
    const socket = FakeSocket.latest();
    socket.open();
    await waitFor(() => expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('gpt-4o-mini'));
    await user.type(box, 'Hello{Enter}');
    const send = socket.sent.find((frame) => frame.type === 'message.send');
    expect(send).toMatchObject({ conversation_id: null, content: 'Hello' });
    expect(send).not.toHaveProperty('parent_id');
    expect(screen.getByText('Sending…')).toBeInTheDocument();

    socket.push({
      type: 'conversation.created',
      conversation: { ...conversation, id: 9, title: '' },
      client_id: send?.client_id,
    });
    socket.push({
      type: 'message.created',
      message: message({ id: 20, conversation_id: 9, parent_id: null, role: 'user', content: 'Hello' }),
      client_id: send?.client_id,
    });
    await waitFor(() => expect(router.state.location.pathname).toBe('/chat/9'));
    expect(await screen.findByText('Hello')).toBeInTheDocument();
    expect(screen.queryByText('Sending…')).not.toBeInTheDocument();
  });

  it('keeps a draft per conversation and one for a new conversation', async () => {
    const stews = { ...conversation, id: 2, title: 'Stews' };
    server.use(
      http.get('*/api/conversations/', () => HttpResponse.json([conversation, stews])),
      http.get('*/api/conversations/:id/messages/', ({ params }) =>
        HttpResponse.json([
          message({ id: Number(params.id) * 10, conversation_id: Number(params.id), parent_id: null, role: 'user', content: `Question ${String(params.id)}` }),
        ]),
      ),
    );
    const { user, router } = renderRoute('/chat/1', { as: setup() });
    const sidebar = await screen.findByRole('complementary', { name: 'Conversations' });
    const socket = FakeSocket.latest();
    socket.open();
    await waitFor(() => expect(screen.getByRole('combobox', { name: 'Model' })).toHaveValue('gpt-4o-mini'));
    const box = (): HTMLElement => screen.getByRole('textbox', { name: 'Message' });

    await user.type(box(), 'Half a thought about soup');
    await user.click(await within(sidebar).findByRole('link', { name: 'Stews' }));
    expect(await screen.findByText('Question 2')).toBeInTheDocument();
    expect(box()).toHaveValue('');

    // Sending in Stews clears the Stews draft only.
    await user.type(box(), 'Beef or lentils?{Enter}');
    const send = socket.sent.find((frame) => frame.type === 'message.send');
    expect(send).toMatchObject({ conversation_id: 2, content: 'Beef or lentils?' });
    expect(box()).toHaveValue('');
    await user.click(within(sidebar).getByRole('link', { name: 'Soup recipes' }));
    expect(await screen.findByText('Question 1')).toBeInTheDocument();
    expect(box()).toHaveValue('Half a thought about soup');

    // A refusal of the Stews message puts its text back in Stews, not in the open conversation.
    socket.push({ type: 'error', code: 'rate_limited', message: 'Slow down.', client_id: send?.client_id });
    expect(await screen.findByText('Too many requests. Wait a moment and try again.')).toBeInTheDocument();
    expect(box()).toHaveValue('Half a thought about soup');
    await user.click(within(sidebar).getByRole('link', { name: 'Stews' }));
    expect(await screen.findByText('Question 2')).toBeInTheDocument();
    expect(box()).toHaveValue('Beef or lentils?');

    // The new-conversation screen has a draft of its own.
    await user.click(within(sidebar).getByRole('button', { name: /New chat/ }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/chat'));
    expect(box()).toHaveValue('');
    await user.type(box(), 'Something else');
    await user.click(within(sidebar).getByRole('link', { name: 'Soup recipes' }));
    expect(await screen.findByText('Question 1')).toBeInTheDocument();
    expect(box()).toHaveValue('Half a thought about soup');
    await user.click(within(sidebar).getByRole('button', { name: /New chat/ }));
    await waitFor(() => expect(box()).toHaveValue('Something else'));
  });

  it('shortens the composer placeholder on a narrow screen', async () => {
    serveConversation([]);
    vi.stubGlobal('matchMedia', (query: string) => ({
      matches: query === '(max-width: 760px)',
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    }));
    try {
      renderRoute('/chat', { as: setup() });
      const box = await screen.findByRole('textbox', { name: 'Message' });
      expect(box).toHaveAttribute('placeholder', 'Write a message');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('mounts only a window of a 1,000-message conversation', async () => {
    const long: Message[] = [];
    for (let id = 1; id <= 1000; id += 1) {
      long.push(
        message({ id, parent_id: id === 1 ? null : id - 1, role: id % 2 ? 'user' : 'assistant' }),
      );
    }
    serveConversation(long);
    // jsdom does no layout; give every element a phone-screen-sized box.
    vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(700);
    vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(390);
    vi.spyOn(HTMLElement.prototype, 'offsetHeight', 'get').mockReturnValue(100);
    renderRoute('/chat/1', { as: setup() });
    const log = await screen.findByRole('log', { name: 'Messages' });
    await waitFor(() => expect(within(log).queryAllByRole('article').length).toBeGreaterThan(0));
    expect(within(log).getAllByRole('article').length).toBeLessThan(60);
  });
});

describe('conversation sidebar', () => {
  const older = {
    ...conversation,
    id: 2,
    title: 'Old plans',
    updated_at: '2024-01-01T10:00:00Z',
    created_at: '2024-01-01T10:00:00Z',
  };

  function serveList(): { queries: string[]; patches: unknown[]; deletes: number[] } {
    const calls = { queries: [] as string[], patches: [] as unknown[], deletes: [] as number[] };
    let list = [conversation, older];
    server.use(
      http.get('*/api/conversations/', ({ request }) => {
        const q = new URL(request.url).searchParams.get('q') ?? '';
        calls.queries.push(q);
        return HttpResponse.json(list.filter((c) => c.title.toLowerCase().includes(q.toLowerCase())));
      }),
      http.get('*/api/conversations/:id/messages/', () => HttpResponse.json([])),
      http.patch('*/api/conversations/:id/', async ({ request, params }) => {
        const body = (await request.json()) as Record<string, unknown>;
        calls.patches.push(body);
        list = list.map((c) => (c.id === Number(params.id) ? { ...c, ...body } : c));
        return HttpResponse.json(list.find((c) => c.id === Number(params.id)));
      }),
      http.delete('*/api/conversations/:id/', ({ params }) => {
        calls.deletes.push(Number(params.id));
        list = list.filter((c) => c.id !== Number(params.id));
        return new HttpResponse(null, { status: 204 });
      }),
    );
    return calls;
  }

  it('groups by date, searches, renames, archives and deletes after confirming', async () => {
    const calls = serveList();
    const { user } = renderRoute('/chat', { as: setup() });
    const sidebar = await screen.findByRole('complementary', { name: 'Conversations' });
    expect(await within(sidebar).findByRole('link', { name: 'Soup recipes' })).toBeInTheDocument();
    expect(within(sidebar).getByRole('heading', { name: 'Today' })).toBeInTheDocument();
    expect(within(sidebar).getByRole('heading', { name: 'Older' })).toBeInTheDocument();

    await user.type(within(sidebar).getByRole('searchbox', { name: 'Search conversations' }), 'old');
    await waitFor(() => expect(calls.queries).toContain('old'));
    await waitFor(() =>
      expect(within(sidebar).queryByRole('link', { name: 'Soup recipes' })).not.toBeInTheDocument(),
    );
    await user.clear(within(sidebar).getByRole('searchbox', { name: 'Search conversations' }));
    await within(sidebar).findByRole('link', { name: 'Soup recipes' });

    await user.click(within(sidebar).getByRole('button', { name: 'Actions for Soup recipes' }));
    await user.click(within(sidebar).getByRole('button', { name: 'Rename' }));
    const title = within(sidebar).getByRole('textbox', { name: 'New title' });
    await user.clear(title);
    await user.type(title, 'Stews{Enter}');
    expect(await within(sidebar).findByRole('link', { name: 'Stews' })).toBeInTheDocument();
    expect(calls.patches).toContainEqual({ title: 'Stews' });

    await user.click(within(sidebar).getByRole('button', { name: 'Actions for Stews' }));
    await user.click(within(sidebar).getByRole('button', { name: 'Archive' }));
    await waitFor(() =>
      expect(within(sidebar).queryByRole('link', { name: 'Stews' })).not.toBeInTheDocument(),
    );
    expect(calls.patches).toContainEqual({ archived: true });
    await user.click(within(sidebar).getByRole('checkbox', { name: 'Show archived' }));
    expect(await within(sidebar).findByRole('link', { name: 'Stews' })).toBeInTheDocument();
    await user.click(within(sidebar).getByRole('checkbox', { name: 'Show archived' }));

    await user.click(within(sidebar).getByRole('button', { name: 'Actions for Old plans' }));
    await user.click(within(sidebar).getByRole('button', { name: 'Delete' }));
    expect(calls.deletes).toEqual([]);
    await user.click(within(sidebar).getByRole('button', { name: 'Yes, delete' }));
    await waitFor(() => expect(calls.deletes).toEqual([2]));
    await waitFor(() =>
      expect(within(sidebar).queryByRole('link', { name: 'Old plans' })).not.toBeInTheDocument(),
    );
  });

  it('sends an administrator without models to the Models page, and tells a member whom to ask', async () => {
    const admin = renderRoute('/chat', { as: alice() });
    expect(await screen.findByText('No models are enabled yet.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Enable a model' })).toHaveAttribute('href', '/models');
    expect(screen.getByRole('combobox', { name: 'Model' })).toHaveTextContent('No models enabled');
    admin.unmount();

    renderRoute('/chat', { as: bob() });
    expect(
      await screen.findByText('No models are enabled yet. Ask an administrator to add one.'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Enable a model' })).not.toBeInTheDocument();
  });
});
