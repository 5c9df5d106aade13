import { z } from 'zod';

/**
 * An http or https URL with no user name or password in it; `whereCredentialsGo` tells the user
 * where to put them instead. Used for endpoints whose URL is logged (webhook, Supabase).
 */
export function httpUrlWithoutCredentials(whereCredentialsGo: string) {
  return z
    .url({ protocol: /^https?$/ })
    .refine((url) => {
      if (!URL.canParse(url)) return true; // reported by the url check itself
      const parsed = new URL(url);
      return parsed.username === '' && parsed.password === '';
    }, whereCredentialsGo);
}
