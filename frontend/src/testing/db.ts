import type { Role } from '@/types/api';

/** The fake backend's state for MSW handlers; reset after every test. */
export type FakeUser = {
  id: number;
  email: string;
  name: string;
  role: Role;
  is_active: boolean;
  password: string;
  spent_usd: string;
  date_joined: string;
};

export type FakeInvitation = {
  id: number;
  email: string;
  role: Role;
  token: string;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  created_at: string;
  expires_at: string;
};

export type FakeProviderKey = {
  id: number;
  provider: string;
  label: string;
  base_url: string | null;
  api_key: string;
  created_at: string;
  last_used_at: string | null;
};

export type FakeModel = {
  id: string;
  provider: string;
  provider_key: number;
  name: string;
  input_usd_per_mtok: string;
  output_usd_per_mtok: string;
  cached_input_usd_per_mtok: string | null;
  enabled: boolean;
};

export type FakeCatalogEntry = {
  name: string;
  input_usd_per_mtok: string | null;
  output_usd_per_mtok: string | null;
};

type Db = {
  setupNeeded: boolean;
  org: { id: number; name: string; title_model: string | null };
  users: FakeUser[];
  sessionUserId: number | null;
  invitations: FakeInvitation[];
  providerKeys: FakeProviderKey[];
  models: FakeModel[];
  /** What /test/ answers per provider key id: discovered models, or an error. */
  upstream: Record<number, { models: FakeCatalogEntry[] } | { error: { code: string; message: string } }>;
  nextId: number;
};

function emptyDb(): Db {
  return {
    setupNeeded: false,
    org: { id: 1, name: 'Acme', title_model: null },
    users: [],
    sessionUserId: null,
    invitations: [],
    providerKeys: [],
    models: [],
    upstream: {},
    nextId: 100,
  };
}

export const db: Db = emptyDb();

export function resetDb(): void {
  Object.assign(db, emptyDb());
}

export function nextId(): number {
  db.nextId += 1;
  return db.nextId;
}
