// The global stylesheet first: feature stylesheets come later in the bundle and refine it.
import '@/app/styles.css';

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from '@/app/app';
import { initI18n } from '@/lib/i18n';
import { watchSystemTheme } from '@/lib/theme';

initI18n();
watchSystemTheme();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
