import { z } from 'zod';

export const roleSchema = z.enum(['owner', 'admin', 'member']);
export type Role = z.infer<typeof roleSchema>;

/** Money is a decimal string in USD (CONTRACT "Conventions"); never turned into a float. */
export const moneySchema = z.string();

export const userSchema = z.object({
  id: z.number(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  is_active: z.boolean().optional(),
});
export type User = z.infer<typeof userSchema>;

export const meSchema = userSchema.extend({
  org: z.object({ id: z.number(), name: z.string() }),
});
export type Me = z.infer<typeof meSchema>;

export const isAdminRole = (role: Role | undefined): boolean => role === 'owner' || role === 'admin';
