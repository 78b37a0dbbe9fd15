import { create } from 'zustand';

export type ThemeChoice = 'light' | 'dark' | 'system';
export const THEME_STORAGE_KEY = 'potluck.theme';

function readStored(): ThemeChoice {
  try {
    const value = localStorage.getItem(THEME_STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

function systemPrefersDark(): boolean {
  return typeof window.matchMedia === 'function'
    ? window.matchMedia('(prefers-color-scheme: dark)').matches
    : false;
}

export function resolveTheme(choice: ThemeChoice, prefersDark: boolean): 'light' | 'dark' {
  if (choice === 'system') return prefersDark ? 'dark' : 'light';
  return choice;
}

/** The "dark" class on <html> is what the CSS variables (and browser tests) key on. */
export function applyTheme(choice: ThemeChoice): void {
  const dark = resolveTheme(choice, systemPrefersDark()) === 'dark';
  document.documentElement.classList.toggle('dark', dark);
  document.documentElement.style.colorScheme = dark ? 'dark' : 'light';
}

type ThemeState = {
  choice: ThemeChoice;
  setChoice: (choice: ThemeChoice) => void;
  /** Flip between light and dark from whatever is showing now (leaves "system"). */
  toggle: () => void;
};

export const useThemeStore = create<ThemeState>((set, get) => ({
  choice: readStored(),
  setChoice: (choice) => {
    try {
      if (choice === 'system') localStorage.removeItem(THEME_STORAGE_KEY);
      else localStorage.setItem(THEME_STORAGE_KEY, choice);
    } catch {
      // Private mode: the choice still holds for this tab.
    }
    applyTheme(choice);
    set({ choice });
  },
  toggle: () => {
    const showing = resolveTheme(get().choice, systemPrefersDark());
    get().setChoice(showing === 'dark' ? 'light' : 'dark');
  },
}));

/** Follow the OS while the choice is "system". Returns an unsubscribe function. */
export function watchSystemTheme(): () => void {
  applyTheme(useThemeStore.getState().choice);
  if (typeof window.matchMedia !== 'function') return () => undefined;
  const query = window.matchMedia('(prefers-color-scheme: dark)');
  const onChange = (): void => {
    if (useThemeStore.getState().choice === 'system') applyTheme('system');
  };
  query.addEventListener('change', onChange);
  return () => query.removeEventListener('change', onChange);
}
