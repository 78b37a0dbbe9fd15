import { http, HttpResponse } from 'msw';

import type { Budget } from '@/features/billing/api/get-budget';
import type { MyUsage } from '@/features/billing/api/get-my-usage';
import { db } from '@/testing/db';
import { isDecimalString, sumMoney } from '@/utils/decimal';

/**
 * A fake of billing/apis.py for route tests: budgets with DRF-like validation, usage/me, the
 * summary grouped from fake ledger rows, and the paged records. Tests add it with
 * `server.use(...billingHandlers)`; `resetBilling()` gives a fresh state.
 */
export type FakeRecord = {
  id: number;
  user: number;
  user_email: string;
  model: string;
  source: 'chat' | 'api' | 'system';
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  estimated: boolean;
  created_at: string;
};

type StoredBudget = Omit<Budget, 'inherited' | 'updated_at'>;

type BillingState = {
  me: MyUsage;
  userBudgets: Record<number, StoredBudget>;
  defaultBudget: StoredBudget;
  orgBudget: StoredBudget;
  records: FakeRecord[];
  /** Every billing URL asked for, path and query, for asserting ranges and pages. */
  requests: string[];
  puts: Array<{ url: string; body: unknown }>;
};

const unlimited = (): StoredBudget => ({
  limit_usd: null,
  period: 'monthly',
  enforcement: 'hard',
  warn_at_percent: [],
});

function fresh(): BillingState {
  return {
    me: {
      period: { kind: 'monthly', start: '2025-01-01T00:00:00Z', end: '2025-02-01T00:00:00Z' },
      spent_usd: '0.000000000',
      reserved_usd: '0.000000000',
      limit_usd: null,
      remaining_usd: null,
      by_model: [],
    },
    userBudgets: {},
    defaultBudget: unlimited(),
    orgBudget: unlimited(),
    records: [],
    requests: [],
    puts: [],
  };
}

export const billing: BillingState = fresh();

export function resetBilling(): void {
  Object.assign(billing, fresh());
}

const error = (status: number, code: string, message: string, detail: Record<string, unknown> = {}) =>
  HttpResponse.json({ code, message, detail }, { status });

function gate(request: Request, { admin }: { admin: boolean }): Response | undefined {
  const user = db.users.find((candidate) => candidate.id === db.sessionUserId);
  if (!user) return error(401, 'not_authenticated', 'Please log in.');
  if (admin && user.role === 'member') return error(403, 'permission_denied', 'Only admins can do this.');
  if (request.method !== 'GET' && !request.headers.get('X-CSRFToken')) {
    return error(403, 'permission_denied', 'CSRF Failed: CSRF token missing.');
  }
  billing.requests.push(new URL(request.url).pathname + new URL(request.url).search);
  return undefined;
}

/** The serializer's checks (BudgetInput in billing/apis.py), with DRF's wording. */
function validateBudget(body: Record<string, unknown>): Record<string, string[]> | StoredBudget {
  const fields: Record<string, string[]> = {};
  const limit = body.limit_usd;
  if (typeof limit === 'number') fields.limit_usd = ['Send money as a decimal string, e.g. "0.15", not a JSON number.'];
  else if (limit !== null && typeof limit !== 'string') fields.limit_usd = ['This field is required.'];
  else if (typeof limit === 'string') {
    if (!isDecimalString(limit)) fields.limit_usd = ['A valid number is required.'];
    else if ((limit.split('.')[0] ?? '').length > 11) {
      fields.limit_usd = ['Ensure that there are no more than 11 digits before the decimal point.'];
    }
  }
  const period = body.period;
  if (!['daily', 'weekly', 'monthly', 'total'].includes(String(period))) {
    fields.period = [`"${String(period)}" is not a valid choice.`];
  }
  if (!['hard', 'soft'].includes(String(body.enforcement))) {
    fields.enforcement = [`"${String(body.enforcement)}" is not a valid choice.`];
  }
  const warn = Array.isArray(body.warn_at_percent) ? (body.warn_at_percent as unknown[]) : [];
  if (warn.some((value) => typeof value !== 'number' || value < 1 || value > 100)) {
    fields.warn_at_percent = ['Ensure this value is less than or equal to 100.'];
  }
  if (Object.keys(fields).length > 0) return fields;
  const digits = (value: string) => (value.includes('.') ? value.padEnd(value.indexOf('.') + 10, '0') : `${value}.000000000`);
  return {
    limit_usd: typeof limit === 'string' ? digits(limit) : null,
    period: period as Budget['period'],
    enforcement: body.enforcement as Budget['enforcement'],
    warn_at_percent: warn as number[],
  };
}

async function putBudget(request: Request, store: (budget: StoredBudget) => void): Promise<Response> {
  const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
  billing.puts.push({ url: new URL(request.url).pathname, body });
  const result = validateBudget(body);
  if (!('period' in result && typeof result.period === 'string' && 'enforcement' in result)) {
    const fields = result as Record<string, string[]>;
    const first = Object.values(fields)[0]?.[0] ?? 'Invalid input.';
    return error(400, 'validation_error', first, { fields });
  }
  const saved = result as StoredBudget;
  store(saved);
  return HttpResponse.json({ ...saved, inherited: false, updated_at: '2025-01-15T10:00:00Z' });
}

function inRange(record: FakeRecord, url: URL): boolean {
  const day = record.created_at.slice(0, 10);
  const from = url.searchParams.get('from');
  const to = url.searchParams.get('to');
  return (!from || day >= from) && (!to || day <= to);
}

function summarise(records: FakeRecord[], key: (record: FakeRecord) => string, extra: (record: FakeRecord) => object) {
  const groups = new Map<string, FakeRecord[]>();
  for (const record of records) groups.set(key(record), [...(groups.get(key(record)) ?? []), record]);
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, rows]) => ({
      ...extra(rows[0] as FakeRecord),
      requests: rows.length,
      input_tokens: rows.reduce((total, row) => total + row.input_tokens, 0),
      output_tokens: rows.reduce((total, row) => total + row.output_tokens, 0),
      cost_usd: sumMoney(rows.map((row) => row.cost_usd)),
    }));
}

export const billingHandlers = [
  http.get('*/api/usage/me/', ({ request }) => gate(request, { admin: false }) ?? HttpResponse.json(billing.me)),
  http.get('*/api/budgets/users/:id/', ({ request, params }) => {
    const denied = gate(request, { admin: true });
    if (denied) return denied;
    const id = Number(params.id);
    if (!db.users.some((user) => user.id === id)) return error(404, 'not_found', 'User not found.');
    const own = billing.userBudgets[id];
    return HttpResponse.json(
      own
        ? { ...own, inherited: false, updated_at: '2025-01-10T10:00:00Z' }
        : { ...billing.defaultBudget, inherited: true, updated_at: null },
    );
  }),
  http.put('*/api/budgets/users/:id/', async ({ request, params }) => {
    const denied = gate(request, { admin: true });
    if (denied) return denied;
    const id = Number(params.id);
    return putBudget(request, (budget) => {
      billing.userBudgets[id] = budget;
    });
  }),
  http.get('*/api/budgets/default/', ({ request }) =>
    gate(request, { admin: true }) ?? HttpResponse.json({ ...billing.defaultBudget, inherited: false }),
  ),
  http.put('*/api/budgets/default/', async ({ request }) =>
    gate(request, { admin: true }) ??
    putBudget(request, (budget) => {
      billing.defaultBudget = budget;
    }),
  ),
  http.get('*/api/budgets/org/', ({ request }) =>
    gate(request, { admin: true }) ?? HttpResponse.json({ ...billing.orgBudget, inherited: false }),
  ),
  http.put('*/api/budgets/org/', async ({ request }) =>
    gate(request, { admin: true }) ??
    putBudget(request, (budget) => {
      billing.orgBudget = budget;
    }),
  ),
  http.get('*/api/usage/summary/', ({ request }) => {
    const denied = gate(request, { admin: true });
    if (denied) return denied;
    const url = new URL(request.url);
    const rows = billing.records.filter((record) => inRange(record, url));
    const groupBy = url.searchParams.get('group_by');
    if (groupBy === 'user') {
      return HttpResponse.json(
        summarise(rows, (r) => String(r.user), (r) => ({ user: r.user, user_email: r.user_email, user_name: '' })),
      );
    }
    if (groupBy === 'model') return HttpResponse.json(summarise(rows, (r) => r.model, (r) => ({ model: r.model })));
    return HttpResponse.json(
      summarise(rows, (r) => r.created_at.slice(0, 10), (r) => ({ day: r.created_at.slice(0, 10) })),
    );
  }),
  http.get('*/api/usage/records/', ({ request }) => {
    const denied = gate(request, { admin: true });
    if (denied) return denied;
    const url = new URL(request.url);
    const rows = billing.records
      .filter((record) => inRange(record, url))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
    const page = Number(url.searchParams.get('page') ?? '1');
    const size = Number(url.searchParams.get('page_size') ?? '50');
    const slice = rows.slice((page - 1) * size, page * size);
    return HttpResponse.json({
      count: rows.length,
      next: page * size < rows.length ? `${url.pathname}?page=${page + 1}` : null,
      previous: page > 1 ? `${url.pathname}?page=${page - 1}` : null,
      results: slice.map((row) => ({ ...row, provider: 'openai', conversation_id: null })),
    });
  }),
];

/** A ledger row on `day` (YYYY-MM-DD) for the summary and records handlers. */
export function addRecord(overrides: Partial<FakeRecord> & Pick<FakeRecord, 'user' | 'user_email'>): FakeRecord {
  const record: FakeRecord = {
    id: billing.records.length + 1,
    model: 'gpt-4o-mini',
    source: 'chat',
    input_tokens: 100,
    output_tokens: 50,
    cost_usd: '0.000045000',
    estimated: false,
    created_at: '2025-01-10T12:00:00Z',
    ...overrides,
  };
  billing.records.push(record);
  return record;
}
