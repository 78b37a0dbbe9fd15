import type { ReactNode } from 'react';

/**
 * Line icons drawn inline (24×24, stroked with currentColor), so they follow the theme's text
 * colour and need no icon package. They are decoration: the control carrying one names itself.
 */
function Icon({ children }: { children: ReactNode }) {
  return (
    <svg
      className="icon"
      viewBox="0 0 24 24"
      width="20"
      height="20"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      {children}
    </svg>
  );
}

export type IconName =
  | 'chat'
  | 'chats'
  | 'usage'
  | 'key'
  | 'members'
  | 'lock'
  | 'model'
  | 'budget'
  | 'chart'
  | 'audit'
  | 'menu'
  | 'collapse'
  | 'expand';

const PATHS: Record<IconName, ReactNode> = {
  chat: <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" />,
  // A speech bubble with lines of text: the list of conversations, not the app menu.
  chats: (
    <>
      <path d="M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z" />
      <path d="M7 8h10M7 12h6" />
    </>
  ),
  usage: <path d="M6 20v-4M12 20V10M18 20V4" />,
  key: (
    <>
      <circle cx="7.5" cy="15.5" r="4.5" />
      <path d="M10.7 12.3 21 2M17 6l3 3M14.5 8.5l2 2" />
    </>
  ),
  members: (
    <>
      <circle cx="9" cy="8" r="4" />
      <path d="M2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1M16 3.2a4 4 0 0 1 0 7.6M22 21v-1a6 6 0 0 0-3-5.2" />
    </>
  ),
  lock: (
    <>
      <rect x="4" y="11" width="16" height="10" rx="2" />
      <path d="M8 11V7a4 4 0 0 1 8 0v4" />
    </>
  ),
  model: (
    <>
      <rect x="5" y="5" width="14" height="14" rx="2" />
      <rect x="9" y="9" width="6" height="6" />
      <path d="M9 2v3M15 2v3M9 19v3M15 19v3M19 9h3M19 15h3M2 9h3M2 15h3" />
    </>
  ),
  budget: (
    <>
      <path d="M3 7a2 2 0 0 1 2-2h14v4M3 7v11a2 2 0 0 0 2 2h16V9H5a2 2 0 0 1-2-2z" />
      <circle cx="16.5" cy="14.5" r="1" />
    </>
  ),
  chart: (
    <>
      <path d="M21 15.9A10 10 0 1 1 8 3" />
      <path d="M22 12A10 10 0 0 0 12 2v10z" />
    </>
  ),
  audit: (
    <>
      <path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z" />
      <path d="M14 2v6h6M16 13H8M16 17H8" />
    </>
  ),
  menu: <path d="M3 6h18M3 12h18M3 18h18" />,
  collapse: (
    <>
      <rect x="3" y="3" width="18" height="18" rx="2" />
      <path d="M9 3v18M16 15l-3-3 3-3" />
    </>
  ),
  expand: (
    <>
      <rect x="3" y="3" width="18" height="18" rx="2" />
      <path d="M9 3v18M13 9l3 3-3 3" />
    </>
  ),
};

export function IconGlyph({ name }: { name: IconName }) {
  return <Icon>{PATHS[name]}</Icon>;
}
