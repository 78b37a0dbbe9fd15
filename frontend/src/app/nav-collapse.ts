import { useState } from 'react';

export const NAV_COLLAPSED_KEY = 'potluck.nav.collapsed';

function readStored(): boolean | undefined {
  try {
    const value = localStorage.getItem(NAV_COLLAPSED_KEY);
    if (value === 'true') return true;
    if (value === 'false') return false;
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the desktop app menu is a narrow icon rail. Until the user picks, it is a rail on the
 * chat screen only (the conversation list already takes a column there) and full elsewhere; once
 * the user toggles it, that choice holds on every page and across reloads.
 */
export function useNavCollapsed(onChat: boolean): [boolean, () => void] {
  const [stored, setStored] = useState(readStored);
  const collapsed = stored ?? onChat;
  const toggle = (): void => {
    const next = !collapsed;
    setStored(next);
    try {
      localStorage.setItem(NAV_COLLAPSED_KEY, String(next));
    } catch {
      // Private mode: the choice still holds until the page is reloaded.
    }
  };
  return [collapsed, toggle];
}
