import { useTranslation } from 'react-i18next';

import { currentLanguage, LANGUAGES } from '@/lib/i18n';
import { useThemeStore } from '@/lib/theme';
import type { ThemeChoice } from '@/lib/theme';

export function LanguageSelect() {
  const { t, i18n } = useTranslation();
  return (
    <span className="header-control">
      <select
        aria-label={t('header.language')}
        className="input input-compact"
        value={currentLanguage()}
        onChange={(event) => void i18n.changeLanguage(event.target.value)}
      >
        {LANGUAGES.map((language) => (
          <option key={language.code} value={language.code}>
            {language.code.toUpperCase()} · {language.label}
          </option>
        ))}
      </select>
    </span>
  );
}

export function ThemeControls() {
  const { t } = useTranslation();
  const choice = useThemeStore((state) => state.choice);
  const setChoice = useThemeStore((state) => state.setChoice);
  const toggle = useThemeStore((state) => state.toggle);
  return (
    <div className="header-control theme-controls">
      <button
        type="button"
        className="icon-button"
        aria-label={t('header.toggleDark')}
        title={t('header.toggleDark')}
        onClick={toggle}
      >
        <span aria-hidden="true" className="theme-icon" />
      </button>
      <select
        aria-label={t('header.theme')}
        className="input input-compact theme-select"
        value={choice}
        onChange={(event) => setChoice(event.target.value as ThemeChoice)}
      >
        <option value="light">{t('header.themeLight')}</option>
        <option value="dark">{t('header.themeDark')}</option>
        <option value="system">{t('header.themeSystem')}</option>
      </select>
    </div>
  );
}
