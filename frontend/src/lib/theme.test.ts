import { resolveTheme, THEME_STORAGE_KEY, useThemeStore } from '@/lib/theme';

describe('theme', () => {
  it.each([
    ['light', false, 'light'],
    ['light', true, 'light'],
    ['dark', false, 'dark'],
    ['system', true, 'dark'],
    ['system', false, 'light'],
  ] as const)('resolves %s (OS dark: %s) to %s', (choice, prefersDark, expected) => {
    expect(resolveTheme(choice, prefersDark)).toBe(expected);
  });

  it('puts the dark class on <html> and remembers the choice', () => {
    useThemeStore.getState().setChoice('dark');
    expect(document.documentElement).toHaveClass('dark');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('dark');
    useThemeStore.getState().toggle();
    expect(document.documentElement).not.toHaveClass('dark');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('light');
    useThemeStore.getState().setChoice('system');
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBeNull();
  });
});
