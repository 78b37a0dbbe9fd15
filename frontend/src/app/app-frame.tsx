import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useNavigate } from 'react-router';

import { LanguageSelect, ThemeControls } from '@/app/header-controls';
import { Button } from '@/components/ui/button';
import { useLogout, useMe } from '@/lib/auth';
import { isAdminRole } from '@/types/api';

type NavItem = { to: string; labelKey: string };

const MAIN_NAV: NavItem[] = [
  { to: '/chat', labelKey: 'nav.chat' },
  { to: '/my-usage', labelKey: 'nav.myUsage' },
  { to: '/tokens', labelKey: 'nav.apiTokens' },
];

// These paths avoid /admin, which belongs to the Django admin on the same origin.
const ADMIN_NAV: NavItem[] = [
  { to: '/members', labelKey: 'nav.members' },
  { to: '/provider-keys', labelKey: 'nav.providerKeys' },
  { to: '/models', labelKey: 'nav.models' },
  { to: '/budgets', labelKey: 'nav.budgets' },
  { to: '/usage', labelKey: 'nav.usage' },
  { to: '/audit', labelKey: 'nav.audit' },
];

function UserMenu() {
  const { t } = useTranslation();
  const me = useMe();
  const logout = useLogout();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return undefined;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !ref.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  if (!me.data) return null;
  const display = me.data.name || me.data.email;
  return (
    <div className="user-menu" ref={ref}>
      <button
        type="button"
        className="user-menu-button"
        aria-label={`${display} · ${t('header.userMenu')}`}
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls="user-menu-panel"
        onClick={() => setOpen((value) => !value)}
      >
        <span className="avatar" aria-hidden="true">
          {display.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-menu-text">{display}</span>
      </button>
      {open ? (
        <div id="user-menu-panel" className="user-menu-panel">
          <p className="user-menu-who">
            <strong>{display}</strong>
            <span className="muted small">{me.data.email}</span>
            <span className="muted small">
              {t(`roles.${me.data.role}`)} · {me.data.org.name}
            </span>
          </p>
          <Button
            variant="secondary"
            size="sm"
            loading={logout.isPending}
            onClick={() =>
              logout.mutate(undefined, {
                onSuccess: () => void navigate('/login', { replace: true }),
              })
            }
          >
            {t('header.logout')}
          </Button>
        </div>
      ) : null}
    </div>
  );
}

export function AppFrame() {
  const { t } = useTranslation();
  const me = useMe();
  const [navOpen, setNavOpen] = useState(false);
  const admin = isAdminRole(me.data?.role);
  const link = (item: NavItem) => (
    <li key={item.to}>
      <NavLink to={item.to} onClick={() => setNavOpen(false)}>
        {t(item.labelKey)}
      </NavLink>
    </li>
  );
  return (
    <div className="frame">
      <a className="skip-link" href="#main">
        {t('app.skipToContent')}
      </a>
      <header className="topbar">
        <button
          type="button"
          className="icon-button nav-toggle"
          aria-label={t('nav.openMenu')}
          aria-expanded={navOpen}
          aria-controls="sidebar"
          onClick={() => setNavOpen((open) => !open)}
        >
          <span aria-hidden="true">☰</span>
        </button>
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{t('app.name')}</span>
          {me.data ? <span className="org-name">{me.data.org.name}</span> : null}
        </div>
        <div className="topbar-controls">
          <LanguageSelect />
          <ThemeControls />
          <UserMenu />
        </div>
      </header>
      <div className="frame-body">
        <aside id="sidebar" className={`sidebar${navOpen ? ' open' : ''}`}>
          <nav aria-label={t('nav.main')}>
            <ul>{MAIN_NAV.map(link)}</ul>
          </nav>
          {admin ? (
            <nav aria-label={t('nav.admin')}>
              <h2 className="nav-heading">{t('nav.admin')}</h2>
              <ul>{ADMIN_NAV.map(link)}</ul>
            </nav>
          ) : null}
        </aside>
        <main id="main" className="content" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}
