import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';

import { FakeSocket, withFakeChatSocket } from '@/features/chat/testing/fake-socket';
import type { Message } from '@/features/chat/types/chat';
import { i18n } from '@/lib/i18n';
import { alice, createModel, createProviderKey } from '@/testing/data-generators';
import { server } from '@/testing/server';
import { renderRoute } from '@/testing/test-utils';

// Noon UTC: the same calendar day in every time zone the test machine may be in.
const PERIOD_END = '2027-01-15T12:00:00Z';
// The server's English text: the refusal is explained from the detail, never from this.
const SERVER_TEXT = 'Server wording that must not be shown.';

const tooLarge = {
  scope: 'user',
  reason: 'too_large',
  limit_usd: '0.002',
  spent_usd: '0.001354',
  reserved_usd: '0',
  remaining_usd: '0.000646',
  needed_usd: '0.000901',
  period: 'monthly',
  period_end: PERIOD_END,
};

const exhausted = {
  ...tooLarge,
  reason: 'exhausted',
  spent_usd: '0.001990',
  remaining_usd: '0.000010',
};

function message(fields: Partial<Message> & Pick<Message, 'id' | 'parent_id' | 'role'>): Message {
  return {
    conversation_id: 1,
    content: '',
    model: fields.role === 'assistant' ? 'gpt-4o-mini' : '',
    status: 'complete',
    error: null,
    usage: null,
    cost_usd: '0',
    created_at: `2026-12-06T10:00:0${fields.id}Z`,
    ...fields,
  };
}

const question = message({ id: 1, parent_id: null, role: 'user', content: 'A long story' });
const refused = (detail: Record<string, unknown> | null): Message =>
  message({
    id: 2,
    parent_id: 1,
    role: 'assistant',
    status: 'failed',
    error: { code: 'budget_exceeded', message: SERVER_TEXT, detail },
  });

function serve(messages: Message[]): void {
  createProviderKey();
  createModel({ input_usd_per_mtok: '0.15', output_usd_per_mtok: '0.6' });
  server.use(
    http.get('*/api/conversations/', () =>
      HttpResponse.json([
        {
          id: 1,
          title: 'Stories',
          model: 'gpt-4o-mini',
          system_prompt: '',
          created_at: '2026-12-06T10:00:00Z',
          updated_at: '2026-12-06T10:00:00Z',
          archived: false,
        },
      ]),
    ),
    http.get('*/api/conversations/:id/messages/', () => HttpResponse.json(messages)),
  );
}

async function refusalAlert(headline: string): Promise<HTMLElement> {
  const title = await screen.findByText(headline);
  const alert = title.closest<HTMLElement>('[role="alert"]');
  if (!alert) throw new Error('the refusal is not an alert');
  return alert;
}

const ways = (alert: HTMLElement): string[] =>
  within(alert)
    .getAllByRole('listitem')
    .map((item) => item.textContent ?? '');

withFakeChatSocket();

describe('a budget refusal in the chat', () => {
  afterEach(async () => {
    await i18n.changeLanguage('en');
  });

  it('explains a conversation too long for what is left, when it resets and what to do', async () => {
    serve([question, refused(tooLarge)]);
    renderRoute('/chat/1', { as: alice() });
    const alert = await refusalAlert('Your budget does not allow this request.');
    expect(alert).toHaveTextContent(
      'This conversation is too long for what is left of your budget: even a short answer could cost up to $0.000901, and $0.000646 is left.',
    );
    expect(alert).toHaveTextContent('Limit$0.002 a month');
    expect(alert).toHaveTextContent('Left$0.000646');
    expect(alert).toHaveTextContent('A short answer may cost up to$0.000901');
    expect(alert).not.toHaveTextContent('Held for answers in progress'); // nothing is held
    expect(alert).toHaveTextContent(/It resets on January 15, 2027/);
    expect(ways(alert)).toEqual([
      'Start a new conversation: a shorter history costs less to send.',
      'Ask for a shorter answer.',
      'Ask an admin to raise your budget.',
    ]);
    expect(alert).not.toHaveTextContent(SERVER_TEXT);
    expect(alert).toHaveTextContent('(budget_exceeded)');
  });

  it('explains a used-up budget arriving in a message.failed frame', async () => {
    serve([question]);
    renderRoute('/chat/1', { as: alice() });
    expect(await screen.findByText('A long story')).toBeInTheDocument();
    const socket = FakeSocket.latest();
    socket.open();
    socket.push({ type: 'message.failed', message: refused(exhausted) });
    const alert = await refusalAlert('Your budget does not allow this request.');
    expect(alert).toHaveTextContent('Too little is left of your budget for even a short answer.');
    expect(alert).toHaveTextContent('Spent$0.00199');
    const [wait, ask] = ways(alert);
    expect(wait).toMatch(/^Wait for the reset on January 15, 2027/);
    expect(ask).toBe('Ask an admin to raise your budget.');
    expect(ways(alert)).toHaveLength(2);
  });

  it('explains both reasons in Spanish', async () => {
    await i18n.changeLanguage('es');
    serve([
      question,
      refused(tooLarge),
      message({ id: 3, parent_id: 1, role: 'assistant', status: 'failed', error: refused(exhausted).error }),
    ]);
    const { user } = renderRoute('/chat/1', { as: alice() });
    // The newest answer shows: the used-up one (siblings of the same question).
    let alert = await refusalAlert('Tu presupuesto no permite esta solicitud.');
    expect(alert).toHaveTextContent(
      'Queda demasiado poco de tu presupuesto incluso para una respuesta corta.',
    );
    expect(alert).toHaveTextContent('Límite$0.002 al mes');
    expect(alert).toHaveTextContent(/Se renueva el 15 de enero de 2027/);
    expect(ways(alert)).toHaveLength(2);
    expect(ways(alert)[0]).toMatch(/^Espera a que se renueve el 15 de enero de 2027/);
    expect(ways(alert)[1]).toBe('Pide a un administrador que amplíe tu presupuesto.');

    // The earlier answer: too long for what is left.
    await user.click(screen.getByRole('button', { name: 'Versión anterior' }));
    alert = await refusalAlert('Tu presupuesto no permite esta solicitud.');
    expect(alert).toHaveTextContent(
      'Esta conversación es demasiado larga para lo que queda de tu presupuesto: incluso una respuesta corta podría costar hasta $0.000901 y quedan $0.000646.',
    );
    expect(ways(alert)).toEqual([
      'Empieza una conversación nueva: un historial más corto cuesta menos.',
      'Pide una respuesta más corta.',
      'Pide a un administrador que amplíe tu presupuesto.',
    ]);
  });

  it('shows what an older server sends: the organization’s budget, no reason', async () => {
    // Before reason/remaining/needed: scope, limit, spent, reserved, period and its end only.
    const { reason: _r, remaining_usd: _l, needed_usd: _n, ...older } = exhausted;
    serve([question, refused({ ...older, scope: 'org', reserved_usd: '0.000500000' })]);
    renderRoute('/chat/1', { as: alice() });
    const alert = await refusalAlert('The organization’s budget does not allow this request.');
    expect(alert).toHaveTextContent('Held for answers in progress$0.0005');
    expect(alert).not.toHaveTextContent('Left');
    expect(alert).toHaveTextContent(/It resets on January 15, 2027/);
    expect(ways(alert)[1]).toBe('Ask an admin to raise the organization’s budget.');
  });

  it('says a total budget never resets', async () => {
    serve([question, refused({ ...exhausted, period: 'total', period_end: null })]);
    renderRoute('/chat/1', { as: alice() });
    const alert = await refusalAlert('Your budget does not allow this request.');
    expect(alert).toHaveTextContent('$0.002 in total');
    expect(alert).toHaveTextContent('It never resets.');
    expect(ways(alert)).toEqual(['Ask an admin to raise your budget.']);
  });

  it('falls back to the server’s text when there is no detail to explain', async () => {
    serve([question, refused(null)]);
    renderRoute('/chat/1', { as: alice() });
    const alert = await refusalAlert('Your budget does not allow this request.');
    expect(alert).toHaveTextContent(SERVER_TEXT);
    expect(within(alert).queryByRole('listitem')).not.toBeInTheDocument();
  });
});
