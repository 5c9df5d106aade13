import { z } from 'zod';
import { nullableIdString, nullableNumber, nullableString, terraUserSchema } from './fields.js';

/**
 * Terra user (non-data) events [OA-S `*Event.yaml`; the terra-api SDK 2.0.21 for
 * google_no_datasource, rate_limit_hit and healthcheck; llms.txt for the legacy auth error].
 * `status` values stay open strings: a new status must not dead-letter an event.
 */

// AuthSuccessEvent.yaml
export const authSuccessEventSchema = z.looseObject({
  type: z.literal('auth'),
  status: z.string(),
  user: terraUserSchema,
  message: nullableString,
  flow_id: nullableString,
  widget_session_id: nullableString,
  reference_id: nullableIdString,
});

// Legacy failed-auth shape (llms.txt, SDK AuthErrorEvent): type auth, status "error".
export const authLegacyErrorEventSchema = z.looseObject({
  type: z.literal('auth'),
  status: z.literal('error'),
  user: terraUserSchema,
  provider: nullableIdString,
  message: nullableString,
  reason: nullableString,
  reference_id: nullableIdString,
  widget_session_id: nullableString,
});

// AuthErrorEvent.yaml: no user.
export const authCancelledEventSchema = z.looseObject({
  type: z.literal('auth_cancelled'),
  status: z.string(),
  flow_id: nullableString,
  reason: nullableString,
  reference_id: nullableIdString,
});

// DeauthEvent.yaml
export const deauthEventSchema = z.looseObject({
  type: z.literal('deauth'),
  status: z.string(),
  user: terraUserSchema,
  message: z.string(),
});

// UserReauthEvent.yaml: new_user required, old_user nullable.
export const userReauthEventSchema = z.looseObject({
  type: z.literal('user_reauth'),
  status: z.string(),
  new_user: terraUserSchema,
  old_user: terraUserSchema.nullable().optional(),
  message: z.string(),
  version: nullableString,
});

// AccessRevokedEvent.yaml
export const accessRevokedEventSchema = z.looseObject({
  type: z.literal('access_revoked'),
  status: z.string(),
  user: terraUserSchema,
  message: z.string(),
});

// ConnectionErrorEvent.yaml
export const connectionErrorEventSchema = z.looseObject({
  type: z.literal('connection_error'),
  status: z.string(),
  user: terraUserSchema,
  message: z.string(),
});

// SDK GoogleNoDatasourceEvent
export const googleNoDatasourceEventSchema = z.looseObject({
  type: z.literal('google_no_datasource'),
  status: nullableString,
  user: terraUserSchema,
  message: nullableString,
});

// PermissionChangeEvent.yaml
export const permissionChangeEventSchema = z.looseObject({
  type: z.literal('permission_change'),
  status: z.string(),
  user: terraUserSchema,
  message: z.string(),
  version: z.string(),
  scopes_added: z.string(),
  scopes_removed: z.string(),
});

// LargeRequestProcessingEvent.yaml
export const largeRequestProcessingEventSchema = z.looseObject({
  type: z.literal('large_request_processing'),
  status: z.string(),
  user: terraUserSchema,
  message: z.string(),
  reference: z.string(),
});

// LargeRequestSendingEvent.yaml
export const largeRequestSendingEventSchema = z.looseObject({
  type: z.literal('large_request_sending'),
  status: nullableString,
  user: terraUserSchema,
  reference: z.string(),
  message: z.string(),
  expected_payloads: z.number().int(),
});

// SDK RateLimitHitEvent
export const rateLimitHitEventSchema = z.looseObject({
  type: z.literal('rate_limit_hit'),
  status: nullableString,
  user: terraUserSchema,
  start_date: nullableString,
  end_date: nullableString,
  retrying_at: nullableString,
  message: nullableString,
});

// SDK HealthcheckEvent, llms.txt: no user.
export const healthcheckEventSchema = z.looseObject({
  type: z.literal('healthcheck'),
  status: nullableString,
  creation_timestamp: nullableString,
  trend_percentage: nullableNumber,
  sent_webhooks_last_hour: nullableNumber,
});

export type AuthSuccessEvent = z.infer<typeof authSuccessEventSchema>;
export type AuthLegacyErrorEvent = z.infer<typeof authLegacyErrorEventSchema>;
export type AuthCancelledEvent = z.infer<typeof authCancelledEventSchema>;
export type DeauthEvent = z.infer<typeof deauthEventSchema>;
export type UserReauthEvent = z.infer<typeof userReauthEventSchema>;
export type AccessRevokedEvent = z.infer<typeof accessRevokedEventSchema>;
export type ConnectionErrorEvent = z.infer<typeof connectionErrorEventSchema>;
export type GoogleNoDatasourceEvent = z.infer<typeof googleNoDatasourceEventSchema>;
export type PermissionChangeEvent = z.infer<typeof permissionChangeEventSchema>;
export type LargeRequestProcessingEvent = z.infer<typeof largeRequestProcessingEventSchema>;
export type LargeRequestSendingEvent = z.infer<typeof largeRequestSendingEventSchema>;
export type RateLimitHitEvent = z.infer<typeof rateLimitHitEventSchema>;
export type HealthcheckEvent = z.infer<typeof healthcheckEventSchema>;

export type UserEvent =
  | AuthSuccessEvent
  | AuthLegacyErrorEvent
  | AuthCancelledEvent
  | DeauthEvent
  | UserReauthEvent
  | AccessRevokedEvent
  | ConnectionErrorEvent
  | GoogleNoDatasourceEvent
  | PermissionChangeEvent
  | LargeRequestProcessingEvent
  | LargeRequestSendingEvent
  | RateLimitHitEvent
  | HealthcheckEvent;
