import type { AppRole } from './config/config.slices';

export type { AppRole };

export const servesWebhook = (role: AppRole): boolean => role !== 'worker';
export const consumes = (role: AppRole): boolean => role !== 'api';
