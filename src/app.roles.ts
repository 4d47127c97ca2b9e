import type { Env } from './config/env.schema';

export type AppRole = Env['APP_ROLE'];

export const servesWebhook = (role: AppRole): boolean => role !== 'worker';
export const consumes = (role: AppRole): boolean => role !== 'api';
