import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

import { LanguageSelect, ThemeControls } from '@/app/header-controls';

/** Frame for the pages seen before signing in: setup, login, accept invitation. */
export function PublicShell({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div className="public">
      <header className="public-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span className="brand-name">{t('app.name')}</span>
        </div>
        <div className="topbar-controls">
          <LanguageSelect />
          <ThemeControls />
        </div>
      </header>
      <main id="main" className="public-main">
        <div className="public-card">{children}</div>
      </main>
    </div>
  );
}
