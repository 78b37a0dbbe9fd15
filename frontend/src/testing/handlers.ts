import { http, HttpResponse } from 'msw';
import type { DefaultBodyType, StrictRequest } from 'msw';

import { db, nextId } from '@/testing/db';
import type { FakeProviderKey, FakeUser } from '@/testing/db';

/**
 * A small fake of the backend's contract: enough behaviour (sessions, roles, CSRF, error
 * envelope) that the SPA is exercised through its real api-client, queries and routes.
 */
type Body = Record<string, unknown>;

const error = (status: number, code: string, message: string, detail: Body = {}) =>
  HttpResponse.json({ code, message, detail }, { status });

const validation = (fields: Record<string, string[]>) =>
  error(400, 'validation_error', 'Invalid input.', { fields });

const currentUser = (): FakeUser | undefined =>
  db.users.find((user) => user.id === db.sessionUserId && user.is_active);

const userOut = (user: FakeUser) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  role: user.role,
  is_active: user.is_active,
});

const keyOut = (key: FakeProviderKey) => ({
  id: key.id,
  provider: key.provider,
  label: key.label,
  base_url: key.base_url,
  masked_key: `…${key.api_key.slice(-4)}`,
  created_at: key.created_at,
  last_used_at: key.last_used_at,
});

async function readBody(request: StrictRequest<DefaultBodyType>): Promise<Body> {
  const data: unknown = await request.json().catch(() => ({}));
  return typeof data === 'object' && data !== null ? (data as Body) : {};
}

/** Mirrors Django: unsafe methods need the X-CSRFToken header. */
function csrfFailure(request: Request): Response | undefined {
  if (['GET', 'HEAD'].includes(request.method)) return undefined;
  return request.headers.get('X-CSRFToken')
    ? undefined
    : error(403, 'permission_denied', 'CSRF Failed: CSRF token missing.');
}

type Gate = { user: FakeUser } | { response: Response };

function requireUser(request: Request, { admin = false } = {}): Gate {
  const csrf = csrfFailure(request);
  if (csrf) return { response: csrf };
  const user = currentUser();
  if (!user) return { response: error(401, 'not_authenticated', 'Please log in.') };
  if (admin && user.role === 'member') {
    return { response: error(403, 'permission_denied', 'Only admins can do this.') };
  }
  return { user };
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

const orgJson = () => ({
  ...db.org,
  time_zone: 'UTC',
  default_max_tokens: 4096,
  max_message_chars: 100_000,
});

export const handlers = [
  // A browser would store the Set-Cookie; jsdom behind MSW does not, so store it as one would.
  http.get('*/api/auth/csrf/', () => {
    document.cookie = 'csrftoken=test-csrf-token; path=/';
    return new HttpResponse(null, { status: 204 });
  }),

  http.get('*/api/setup/', () => HttpResponse.json({ needed: db.setupNeeded })),
  http.post('*/api/setup/', async ({ request }) => {
    const csrf = csrfFailure(request);
    if (csrf) return csrf;
    if (!db.setupNeeded) return error(409, 'setup_done', 'Setup is already done.');
    const body = await readBody(request);
    const fields: Record<string, string[]> = {};
    for (const name of ['org_name', 'name', 'email', 'password']) {
      if (!str(body[name])) fields[name] = ['This field is required.'];
    }
    if (str(body.password) && str(body.password).length < 8) {
      fields.password = ['This password is too short.'];
    }
    if (Object.keys(fields).length > 0) return validation(fields);
    db.org.name = str(body.org_name);
    const user: FakeUser = {
      id: nextId(),
      email: str(body.email),
      name: str(body.name),
      role: 'owner',
      is_active: true,
      password: str(body.password),
      spent_usd: '0',
      date_joined: new Date().toISOString(),
    };
    db.users.push(user);
    db.setupNeeded = false;
    db.sessionUserId = user.id;
    return HttpResponse.json(userOut(user), { status: 201 });
  }),

  http.post('*/api/auth/login/', async ({ request }) => {
    const csrf = csrfFailure(request);
    if (csrf) return csrf;
    const body = await readBody(request);
    const user = db.users.find(
      (candidate) =>
        candidate.email === str(body.email) &&
        candidate.password === str(body.password) &&
        candidate.is_active,
    );
    if (!user) return error(400, 'invalid_credentials', 'Email or password is wrong.');
    db.sessionUserId = user.id;
    return HttpResponse.json(userOut(user));
  }),
  http.post('*/api/auth/logout/', ({ request }) => {
    const csrf = csrfFailure(request);
    if (csrf) return csrf;
    db.sessionUserId = null;
    return new HttpResponse(null, { status: 204 });
  }),
  http.get('*/api/auth/me/', () => {
    const user = currentUser();
    if (!user) return error(401, 'not_authenticated', 'Please log in.');
    return HttpResponse.json({ ...userOut(user), org: db.org });
  }),

  http.get('*/api/members/', ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    return HttpResponse.json(
      db.users.map((user) => ({
        ...userOut(user),
        spent_usd: user.spent_usd,
        date_joined: user.date_joined,
      })),
    );
  }),
  http.patch('*/api/members/:id/', async ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const target = db.users.find((user) => user.id === Number(params.id));
    if (!target) return error(404, 'not_found', 'Not found.');
    const body = await readBody(request);
    if (target.role === 'owner' && body.role && body.role !== 'owner' && gate.user.role !== 'owner') {
      return error(403, 'permission_denied', 'Only an owner can change an owner.');
    }
    if (typeof body.role === 'string') target.role = body.role as FakeUser['role'];
    if (typeof body.is_active === 'boolean') target.is_active = body.is_active;
    return HttpResponse.json({ ...userOut(target), spent_usd: target.spent_usd });
  }),

  http.post('*/api/invitations/lookup/', async ({ request }) => {
    const { token } = await readBody(request);
    const invitation = db.invitations.find(
      (candidate) => candidate.token === token && candidate.status === 'pending',
    );
    if (!invitation) return error(404, 'not_found', 'Not found.');
    return HttpResponse.json({ email: invitation.email, role: invitation.role, org_name: db.org.name });
  }),
  http.post('*/api/invitations/accept/', async ({ request }) => {
    const csrf = csrfFailure(request);
    if (csrf) return csrf;
    const body = await readBody(request);
    const invitation = db.invitations.find(
      (candidate) => candidate.token === str(body.token) && candidate.status === 'pending',
    );
    if (!invitation) return error(404, 'not_found', 'Not found.');
    if (str(body.password).length < 8) {
      return validation({ password: ['This password is too short.'] });
    }
    invitation.status = 'accepted';
    const user: FakeUser = {
      id: nextId(),
      email: invitation.email,
      name: str(body.name),
      role: invitation.role,
      is_active: true,
      password: str(body.password),
      spent_usd: '0',
      date_joined: new Date().toISOString(),
    };
    db.users.push(user);
    db.sessionUserId = user.id;
    return HttpResponse.json(userOut(user), { status: 201 });
  }),
  http.get('*/api/invitations/', ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    return HttpResponse.json(db.invitations.map(({ token: _token, ...rest }) => rest));
  }),
  http.post('*/api/invitations/', async ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const body = await readBody(request);
    if (!str(body.email).includes('@')) return validation({ email: ['Enter a valid email address.'] });
    const id = nextId();
    const token = `tok${id}`;
    const invitation = {
      id,
      email: str(body.email),
      role: (str(body.role) || 'member') as FakeUser['role'],
      token,
      status: 'pending' as const,
      created_at: '2025-01-03T10:00:00Z',
      expires_at: '2025-01-10T10:00:00Z',
    };
    db.invitations.push(invitation);
    const { status: _status, created_at: _created, ...out } = invitation;
    return HttpResponse.json({ ...out, url: `http://localhost:3000/invite/${token}` }, { status: 201 });
  }),
  http.delete('*/api/invitations/:id/', ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const invitation = db.invitations.find((candidate) => candidate.id === Number(params.id));
    if (!invitation) return error(404, 'not_found', 'Not found.');
    invitation.status = 'revoked';
    return new HttpResponse(null, { status: 204 });
  }),

  http.get('*/api/audit/', ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    return HttpResponse.json([
      {
        id: 1,
        actor: { id: gate.user.id, email: gate.user.email },
        action: 'invitation.created',
        target_type: 'invitation',
        target_id: 7,
        target_repr: 'bob@example.com',
        data: {},
        created_at: '2025-01-03T10:00:00Z',
      },
    ]);
  }),

  http.get('*/api/provider-keys/', ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    return HttpResponse.json(db.providerKeys.map(keyOut));
  }),
  http.post('*/api/provider-keys/:id/test/', ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const id = Number(params.id);
    if (!db.providerKeys.some((key) => key.id === id)) return error(404, 'not_found', 'Not found.');
    const upstream = db.upstream[id] ?? { models: [] };
    if ('error' in upstream) return HttpResponse.json({ ok: false, models: [], error: upstream.error });
    return HttpResponse.json({ ok: true, models: upstream.models });
  }),
  http.post('*/api/provider-keys/', async ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const body = await readBody(request);
    const fields: Record<string, string[]> = {};
    if (!str(body.api_key)) fields.api_key = ['This field is required.'];
    if (!str(body.label)) fields.label = ['This field is required.'];
    if (body.provider === 'openai_compatible' && !str(body.base_url)) {
      fields.base_url = ['A base URL is required for this provider.'];
    }
    if (Object.keys(fields).length > 0) return validation(fields);
    const key: FakeProviderKey = {
      id: nextId(),
      provider: str(body.provider),
      label: str(body.label),
      base_url: str(body.base_url) || null,
      api_key: str(body.api_key),
      created_at: '2025-01-04T10:00:00Z',
      last_used_at: null,
    };
    db.providerKeys.push(key);
    return HttpResponse.json(keyOut(key), { status: 201 });
  }),
  http.patch('*/api/provider-keys/:id/', async ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const key = db.providerKeys.find((candidate) => candidate.id === Number(params.id));
    if (!key) return error(404, 'not_found', 'Not found.');
    const body = await readBody(request);
    if (str(body.api_key)) key.api_key = str(body.api_key);
    if (str(body.label)) key.label = str(body.label);
    return HttpResponse.json(keyOut(key));
  }),
  http.delete('*/api/provider-keys/:id/', ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    db.providerKeys = db.providerKeys.filter((key) => key.id !== Number(params.id));
    return new HttpResponse(null, { status: 204 });
  }),

  http.get('*/api/models/', ({ request }) => {
    const gate = requireUser(request);
    if ('response' in gate) return gate.response;
    const all = new URL(request.url).searchParams.get('all') === '1';
    return HttpResponse.json(db.models.filter((model) => all || model.enabled));
  }),
  // The chat page refetches its lists when a socket reopens, sometimes after a test's own
  // handlers were reset: answer empty lists instead of failing on an unhandled request.
  http.get('*/api/conversations/', () => HttpResponse.json([])),
  http.get('*/api/conversations/:id/messages/', () => HttpResponse.json([])),
  // The chat's budget meter and cost preview read these; tests needing figures override them.
  http.get('*/api/org/', ({ request }) => {
    const gate = requireUser(request);
    if ('response' in gate) return gate.response;
    return HttpResponse.json(orgJson());
  }),
  http.patch('*/api/org/', async ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const body = await readBody(request);
    if ('title_model' in body) {
      const id = str(body.title_model);
      if (id && !db.models.some((model) => model.id === id && model.enabled)) {
        return error(400, 'validation_error', 'Invalid input.', {
          fields: { title_model: ['Not an enabled model of this organisation.'] },
        });
      }
      db.org.title_model = id || null;
    }
    return HttpResponse.json(orgJson());
  }),
  http.get('*/api/usage/me/', ({ request }) => {
    const gate = requireUser(request);
    if ('response' in gate) return gate.response;
    return HttpResponse.json({
      period: { kind: 'monthly', start: '2025-01-01T00:00:00Z', end: '2025-02-01T00:00:00Z' },
      spent_usd: '0.000000000',
      reserved_usd: '0.000000000',
      limit_usd: null,
      remaining_usd: null,
      by_model: [],
    });
  }),
  http.post('*/api/models/', async ({ request }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const body = await readBody(request);
    const key = db.providerKeys.find((candidate) => candidate.id === body.provider_key);
    if (!key) return validation({ provider_key: ['Unknown provider key.'] });
    for (const name of ['input_usd_per_mtok', 'output_usd_per_mtok', 'cached_input_usd_per_mtok']) {
      if (typeof body[name] === 'number') return validation({ [name]: ['Send money as a string.'] });
    }
    if (!str(body.input_usd_per_mtok) || !str(body.output_usd_per_mtok)) {
      return error(400, 'price_unknown', 'No known price for this model; enter one.');
    }
    const model = {
      id: str(body.id) || str(body.name),
      provider: key.provider,
      provider_key: key.id,
      name: str(body.name),
      input_usd_per_mtok: str(body.input_usd_per_mtok),
      output_usd_per_mtok: str(body.output_usd_per_mtok),
      cached_input_usd_per_mtok: str(body.cached_input_usd_per_mtok) || null,
      enabled: body.enabled !== false,
    };
    db.models.push(model);
    return HttpResponse.json(model, { status: 201 });
  }),
  http.patch('*/api/models/:id/', async ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    const model = db.models.find((candidate) => candidate.id === params.id);
    if (!model) return error(404, 'not_found', 'Not found.');
    const body = await readBody(request);
    if (typeof body.enabled === 'boolean') model.enabled = body.enabled;
    if (str(body.input_usd_per_mtok)) model.input_usd_per_mtok = str(body.input_usd_per_mtok);
    if (str(body.output_usd_per_mtok)) model.output_usd_per_mtok = str(body.output_usd_per_mtok);
    return HttpResponse.json(model);
  }),
  http.delete('*/api/models/:id/', ({ request, params }) => {
    const gate = requireUser(request, { admin: true });
    if ('response' in gate) return gate.response;
    db.models = db.models.filter((model) => model.id !== params.id);
    return new HttpResponse(null, { status: 204 });
  }),
];
