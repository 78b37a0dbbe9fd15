import i18n from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { initReactI18next } from 'react-i18next';

import { en } from '@/locales/en';
import { es } from '@/locales/es';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'es', label: 'Español' },
] as const;
export type LanguageCode = (typeof LANGUAGES)[number]['code'];
export const LANGUAGE_STORAGE_KEY = 'potluck.lang';

export function currentLanguage(): LanguageCode {
  return (i18n.resolvedLanguage ?? i18n.language).startsWith('es') ? 'es' : 'en';
}

/** The language follows the browser until the user picks one; the pick lives in localStorage. */
export function initI18n(options: { lng?: LanguageCode } = {}): typeof i18n {
  if (!i18n.isInitialized) {
    void i18n
      .use(LanguageDetector)
      .use(initReactI18next)
      .init({
        resources: { en: { translation: en }, es: { translation: es } },
        lng: options.lng,
        fallbackLng: 'en',
        supportedLngs: ['en', 'es'],
        nonExplicitSupportedLngs: true,
        interpolation: { escapeValue: false },
        detection: {
          order: ['localStorage', 'navigator'],
          lookupLocalStorage: LANGUAGE_STORAGE_KEY,
          caches: ['localStorage'],
        },
        initAsync: false,
      });
    const syncHtmlLang = (lng: string): void => {
      document.documentElement.lang = lng.startsWith('es') ? 'es' : 'en';
    };
    syncHtmlLang(i18n.language || 'en');
    i18n.on('languageChanged', syncHtmlLang);
  }
  return i18n;
}

export { i18n };
