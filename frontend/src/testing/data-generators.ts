import { db, nextId } from '@/testing/db';
import type { FakeModel, FakeProviderKey, FakeUser } from '@/testing/db';

export function createUser(overrides: Partial<FakeUser> = {}): FakeUser {
  const id = overrides.id ?? nextId();
  const user: FakeUser = {
    id,
    email: `user${id}@example.com`,
    name: `User ${id}`,
    role: 'member',
    is_active: true,
    password: 'correct horse battery',
    spent_usd: '0.000000000',
    date_joined: '2025-01-02T10:00:00Z',
    ...overrides,
  };
  db.users.push(user);
  return user;
}

/** Alice owns the org, Bob is a member (STYLE rule 16's cast). */
export const alice = (): FakeUser =>
  createUser({ email: 'alice@example.com', name: 'Alice', role: 'owner', spent_usd: '1.250000000' });
export const bob = (): FakeUser =>
  createUser({ email: 'bob@example.com', name: 'Bob', role: 'member', spent_usd: '0.000123400' });

export function signIn(user: FakeUser): void {
  db.sessionUserId = user.id;
}

export function createProviderKey(overrides: Partial<FakeProviderKey> = {}): FakeProviderKey {
  const key: FakeProviderKey = {
    id: nextId(),
    provider: 'openai',
    label: 'OpenAI main',
    base_url: null,
    api_key: 'sk-test-abcd1234',
    created_at: '2025-01-02T10:00:00Z',
    last_used_at: null,
    ...overrides,
  };
  db.providerKeys.push(key);
  return key;
}

export function createModel(overrides: Partial<FakeModel> = {}): FakeModel {
  const model: FakeModel = {
    id: 'gpt-4o-mini',
    provider: 'openai',
    provider_key: db.providerKeys[0]?.id ?? 1,
    name: 'gpt-4o-mini',
    input_usd_per_mtok: '0.15',
    output_usd_per_mtok: '0.6',
    cached_input_usd_per_mtok: '0.075',
    enabled: true,
    ...overrides,
  };
  db.models.push(model);
  return model;
}
