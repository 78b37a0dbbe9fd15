import { queryOptions, useQuery } from '@tanstack/react-query';
import { z } from 'zod';

import { api } from '@/lib/api-client';

export const auditEventSchema = z.object({
  id: z.number(),
  actor: z.object({ id: z.number(), email: z.string() }).nullable(),
  action: z.string(),
  target_type: z.string().nullable().optional(),
  target_id: z.union([z.string(), z.number()]).nullable().optional(),
  target_repr: z.string().nullable().optional(),
  data: z.unknown().optional(),
  created_at: z.string(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

// The endpoint may answer a plain list or a DRF page; accept both.
const auditAnswerSchema = z.union([
  z.array(auditEventSchema),
  z.object({ results: z.array(auditEventSchema) }).transform((page) => page.results),
]);

export const getAuditLog = (): Promise<AuditEvent[]> => api.get('/api/audit/', auditAnswerSchema);

export const getAuditLogQueryOptions = () =>
  queryOptions({ queryKey: ['audit'], queryFn: getAuditLog });

export const useAuditLog = () => useQuery(getAuditLogQueryOptions());
