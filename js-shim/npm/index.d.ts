// Types of the auth0-rbac-claims npm package.

/** Settings, as in the README's settings table. Values are strings (numbers and booleans accepted). */
export interface Settings {
  CLAIM_NAMESPACE?: string;
  AUTH0_DOMAIN?: string;
  AUTH0_CLIENT_ID?: string;
  AUTH0_CLIENT_SECRET?: string;
  ROLES_IN?: string;
  PERMISSIONS_IN?: string;
  ID_TOKEN_APIS?: string;
  ON_ERROR?: 'deny' | 'continue';
  HTTP_TIMEOUT_MS?: string | number;
  DEADLINE_MS?: string | number;
  MAX_CLAIMS_BYTES?: string | number;
  [key: string]: string | number | boolean | undefined;
}

/** What a login ended with: `codes` are the stable error codes that were logged. */
export interface Report {
  outcome: 'complete' | 'degraded' | 'denied';
  codes: string[];
}

/** The parts of Auth0's post-login `event` (trigger v3) that the Action reads. */
export interface PostLoginEvent {
  user: { user_id: string; email?: string; name?: string; given_name?: string; family_name?: string; [k: string]: unknown };
  authorization?: { roles?: string[] } | null;
  resource_server?: { identifier?: string } | null;
  secrets?: Record<string, string>;
  configuration?: Record<string, string>;
  stats?: { logins_count?: number };
  [k: string]: unknown;
}

/** The parts of Auth0's post-login `api` object that the Action calls. */
export interface PostLoginApi {
  idToken: { setCustomClaim(name: string, value: unknown): unknown };
  accessToken: { setCustomClaim(name: string, value: unknown): unknown };
  access: { deny(reason: string): unknown };
  cache?: {
    get(key: string): { value: string; expires_at: number } | undefined;
    set(key: string, value: string, options?: { ttl?: number; expires_at?: number }):
      | { type: 'success'; record: { value: string; expires_at: number } }
      | { type: 'error'; code: string };
    delete(key: string): unknown;
  };
  [k: string]: unknown;
}

export type PostLoginHandler = (event: PostLoginEvent, api: PostLoginApi) => Promise<Report>;

/** The Action's handler: settings from `event.configuration` and `event.secrets`. */
export declare const onExecutePostLogin: PostLoginHandler;

/** A handler with settings in code, merged over the event's. */
export declare function postLogin(options: Settings): PostLoginHandler;
