import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';

import { LanguageSelect, ThemeControls } from '@/app/header-controls';
import { useNavCollapsed } from '@/app/nav-collapse';
import { Button } from '@/components/ui/button';
import { IconGlyph } from '@/components/ui/icons';
import type { IconName } from '@/components/ui/icons';
import { useLogout, useMe } from '@/lib/auth';
import { isAdminRole } from '@/types/api';

type NavItem = { to: string; labelKey: string; icon: IconName };

const MAIN_NAV: NavItem[] = [
  { to: '/chat', labelKey: 'nav.chat', icon: 'chat' },
  { to: '/my-usage', labelKey: 'nav.myUsage', icon: 'usage' },
  { to: '/tokens', labelKey: 'nav.apiTokens', icon: 'key' },
];

// These paths avoid /admin, which belongs to the Django admin on the same origin.
const ADMIN_NAV: NavItem[] = [
  { to: '/members', labelKey: 'nav.members', icon: 'members' },
  { to: '/provider-keys', labelKey: 'nav.providerKeys', icon: 'lock' },
  { to: '/models', labelKey: 'nav.models', icon: 'model' },
  { to: '/budgets', labelKey: 'nav.budgets', icon: 'budget' },
  { to: '/usage', labelKey: 'nav.usage', icon: 'chart' },
  { to: '/audit', labelKey: 'nav.audit', icon: 'audit' },
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
  const location = useLocation();
  const [navOpen, setNavOpen] = useState(false);
  const [collapsed, toggleCollapsed] = useNavCollapsed(location.pathname.startsWith('/chat'));
  const admin = isAdminRole(me.data?.role);
  // In the rail the name stays in the link (visually hidden) for screen readers, and shows as a
  // tooltip for the mouse.
  const link = (item: NavItem) => (
    <li key={item.to}>
      <NavLink
        to={item.to}
        title={collapsed ? t(item.labelKey) : undefined}
        onClick={() => setNavOpen(false)}
      >
        <IconGlyph name={item.icon} />
        <span className="nav-label">{t(item.labelKey)}</span>
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
          title={t('nav.openMenu')}
          aria-expanded={navOpen}
          aria-controls="sidebar"
          onClick={() => setNavOpen((open) => !open)}
        >
          <IconGlyph name="menu" />
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
        <aside
          id="sidebar"
          className={`sidebar${navOpen ? ' open' : ''}${collapsed ? ' collapsed' : ''}`}
        >
          {/* Desktop only (the phone has the drawer): the name stays put, aria-expanded says
              whether the menu shows its labels, the tooltip says what a click does. */}
          <button
            type="button"
            className="icon-button nav-collapse"
            aria-label={t('nav.sideMenu')}
            title={collapsed ? t('nav.expandMenu') : t('nav.collapseMenu')}
            aria-expanded={!collapsed}
            aria-controls="sidebar"
            onClick={toggleCollapsed}
          >
            <IconGlyph name={collapsed ? 'expand' : 'collapse'} />
          </button>
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
