import { z } from 'zod';
import { badParameter, noNul } from './query-params';

/** Why an operator acts: at least 3 characters, kept in the audit trail. */
export const reasonSchema = z
  .string({
    required_error: 'is required: say in at least 3 characters why',
    invalid_type_error: 'must be text',
  })
  .trim()
  .min(3, 'is required: say in at least 3 characters why')
  .max(1000, 'must be at most 1000 characters')
  .refine(noNul, 'must not contain a NUL character');

/** The `reason` of an action's JSON body (400 naming `reason` without one). */
export function reasonOf(body: unknown): string {
  const value = typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
  const parsed = reasonSchema.safeParse(value);
  if (!parsed.success) throw badParameter('reason', parsed.error.issues[0]?.message ?? 'is not valid');
  return parsed.data;
}
