import '@/features/billing/components/billing.css';

import { useTranslation } from 'react-i18next';

import { Alert } from '@/components/ui/alert';
import { Card, Page } from '@/components/ui/page';
import { Spinner } from '@/components/ui/spinner';
import { useMemberBudgets } from '@/features/billing/api/get-budget';
import { useBudgetMembers } from '@/features/billing/api/get-members';
import { BudgetEditor } from '@/features/billing/components/budget-editor';
import { MemberBudgetRow } from '@/features/billing/components/member-budget-row';
import { errorMessage } from '@/lib/errors';

function MembersBudgetTable() {
  const { t } = useTranslation();
  const members = useBudgetMembers();
  const list = members.data ?? [];
  const budgets = useMemberBudgets(list.map((member) => member.id));

  if (members.isPending) return <Spinner label={t('app.loading')} />;
  if (members.isError) return <Alert>{errorMessage(members.error)}</Alert>;
  if (list.length === 0) return <p className="muted">{t('billing.budgets.noMembers')}</p>;
  const failed = budgets.find((query) => query.isError);
  return (
    <div className="stack">
      {failed ? <Alert>{errorMessage(failed.error)}</Alert> : null}
      <div className="table-wrap">
        <table className="budget-table" aria-label={t('billing.budgets.membersTitle')}>
          <thead>
            <tr>
              <th scope="col">{t('billing.budgets.member')}</th>
              <th scope="col" className="num">
                {t('billing.budgets.spent')}
              </th>
              <th scope="col">{t('billing.budgets.limit')}</th>
              <th scope="col">{t('billing.budgets.period')}</th>
              <th scope="col">{t('billing.budgets.enforcement')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('members.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((member, index) => {
              const budget = budgets[index]?.data;
              if (!budget) {
                return (
                  <tr key={member.id}>
                    <td>{member.email}</td>
                    <td colSpan={5} className="muted small">
                      {t('app.loading')}
                    </td>
                  </tr>
                );
              }
              return <MemberBudgetRow key={member.id} member={member} budget={budget} />;
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function BudgetsPage() {
  const { t } = useTranslation();
  return (
    <Page title={t('billing.budgets.title')} description={t('billing.budgets.description')}>
      <Card title={t('billing.budgets.membersTitle')}>
        <MembersBudgetTable />
      </Card>
      <div className="usage-grid">
        <BudgetEditor scope="default" />
        <BudgetEditor scope="org" />
      </div>
    </Page>
  );
}
