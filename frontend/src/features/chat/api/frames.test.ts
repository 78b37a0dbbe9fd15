import { normalizeFrame } from '@/features/chat/api/frames';

const message = {
  id: 7,
  conversation_id: 3,
  parent_id: 6,
  role: 'assistant',
  content: 'Hi',
  model: 'gpt-4o-mini',
  status: 'complete',
  error: null,
  usage: { input_tokens: 10, output_tokens: 2, cached_input_tokens: 0, reasoning_tokens: 0 },
  cost_usd: '0.000002700',
  created_at: '2025-01-03T10:00:00Z',
};
const conversation = {
  id: 3,
  title: 'Hello',
  model: 'gpt-4o-mini',
  system_prompt: '',
  created_at: '2025-01-03T10:00:00Z',
  updated_at: '2025-01-03T10:00:00Z',
  archived: false,
};

describe('normalizeFrame', () => {
  it.each([
    ['a delta', { type: 'message.delta', message_id: 7, seq: 0, text: 'He' }],
    ['a created message with client_id', { type: 'message.created', message, client_id: 'c1' }],
    ['a created message without client_id', { type: 'message.created', message }],
    ['a completed message', { type: 'message.completed', message }],
    [
      'a failed message',
      {
        type: 'message.failed',
        message: { ...message, status: 'failed', error: { code: 'budget_exceeded', message: 'No.' } },
      },
    ],
    ['a created conversation', { type: 'conversation.created', conversation, client_id: 'c1' }],
    ['an updated conversation', { type: 'conversation.updated', conversation }],
    ['a deleted conversation', { type: 'conversation.deleted', conversation_id: 3 }],
    [
      'a budget update',
      {
        type: 'budget.updated',
        spent_usd: '1.5',
        limit_usd: null,
        remaining_usd: null,
        period_end: '2025-02-01T00:00:00Z',
      },
    ],
    [
      'a budget warning',
      { type: 'budget.warning', percent: 80, spent_usd: '8', limit_usd: '10', period_end: 'x' },
    ],
    ['an error frame', { type: 'error', code: 'validation_error', message: 'Bad.', client_id: 'c9' }],
  ])('accepts %s', (_name, frame) => {
    expect(normalizeFrame(frame)).toEqual(frame);
  });

  it('parses a JSON string as the socket delivers it', () => {
    const frame = { type: 'message.delta', message_id: 1, seq: 4, text: 'x' };
    expect(normalizeFrame(JSON.stringify(frame))).toEqual(frame);
  });

  it.each([
    ['an unknown frame type', { type: 'presence.changed', user: 1 }],
    ['a frame with no type', { message_id: 1 }],
    ['a delta with a string seq', { type: 'message.delta', message_id: 7, seq: '0', text: 'a' }],
    ['a delta with a negative seq', { type: 'message.delta', message_id: 7, seq: -1, text: 'a' }],
    ['a message with an unknown status', { type: 'message.completed', message: { ...message, status: 'done' } }],
    ['an error without a code', { type: 'error', message: 'Bad.' }],
    ['text that is not JSON', '{not json'],
    ['null', null],
    ['an array', [1, 2]],
  ])('treats %s as ignorable', (_name, raw) => {
    expect(normalizeFrame(raw)).toBeUndefined();
  });
});

describe('normalizeFrame: budget frames (CONTRACT "WebSocket chat")', () => {
  const update = {
    type: 'budget.updated',
    spent_usd: '5.250000000',
    limit_usd: '5.000000000',
    remaining_usd: '-0.250000000',
    period_end: '2025-02-01T00:00:00Z',
  };
  const warning = {
    type: 'budget.warning',
    percent: 90,
    spent_usd: '4.500000000',
    limit_usd: '5.000000000',
    period_end: '2025-02-01T00:00:00Z',
  };

  it.each([
    ['an update past a soft budget (negative remaining)', update],
    ['an update with a limit and what remains', { ...update, spent_usd: '1', remaining_usd: '4' }],
    ['a warning', warning],
  ])('accepts %s', (_name, frame) => {
    expect(normalizeFrame(frame)).toEqual(frame);
  });

  it.each([
    ['an update with money as a number', { ...update, spent_usd: 5.25 }],
    ['an update without period_end', { ...update, period_end: undefined }],
    ['an update without remaining_usd', { ...update, remaining_usd: undefined }],
    ['a warning without a limit', { ...warning, limit_usd: null }],
    ['a warning with a string percent', { ...warning, percent: '90' }],
  ])('ignores %s', (_name, frame) => {
    expect(normalizeFrame(frame)).toBeUndefined();
  });
});
