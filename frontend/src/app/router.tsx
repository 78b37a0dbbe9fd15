import type { RouteObject } from 'react-router';

import { AppFrame } from '@/app/app-frame';
import { RequireAdmin, RequireAuth } from '@/app/guards';
import { ChatRoute } from '@/app/routes/chat';
import { InviteRoute } from '@/app/routes/invite';
import { LoginRoute } from '@/app/routes/login';
import { NotFoundRoute } from '@/app/routes/not-found';
import { RootRoute } from '@/app/routes/root';
import { AuditLogPage } from '@/features/accounts/components/audit-log-page';
import { MembersPage } from '@/features/accounts/components/members-page';
import { BudgetsPage } from '@/features/billing/components/budgets-page';
import { MyUsagePage } from '@/features/billing/components/my-usage-page';
import { UsageDashboardPage } from '@/features/billing/components/usage-dashboard-page';
import { ModelsPage } from '@/features/providers/components/models-page';
import { ProviderKeysPage } from '@/features/providers/components/provider-keys-page';
import { ApiTokensPage } from '@/features/tokens/components/api-tokens-page';

/**
 * Every client-side route. Django answers index.html for all of them; none lives under /admin,
 * /api, /static, /ws or /healthz, which are the server's.
 */
export const routes: RouteObject[] = [
  { path: '/', element: <RootRoute /> },
  { path: '/login', element: <LoginRoute /> },
  { path: '/invite/:token', element: <InviteRoute /> },
  {
    element: (
      <RequireAuth>
        <AppFrame />
      </RequireAuth>
    ),
    children: [
      { path: '/chat/*', element: <ChatRoute /> },
      { path: '/my-usage', element: <MyUsagePage /> },
      { path: '/tokens', element: <ApiTokensPage /> },
      {
        element: <RequireAdmin />,
        children: [
          { path: '/members', element: <MembersPage /> },
          { path: '/provider-keys', element: <ProviderKeysPage /> },
          { path: '/models', element: <ModelsPage /> },
          { path: '/budgets', element: <BudgetsPage /> },
          { path: '/usage', element: <UsageDashboardPage /> },
          { path: '/audit', element: <AuditLogPage /> },
        ],
      },
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
];
