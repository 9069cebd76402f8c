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
  PERMISSIONS_SOURCE?: 'user' | 'roles';
  PERMISSIONS_ENDPOINT?: 'permissions' | 'effective';
  PERMISSIONS_TTL?: string | number;
  PERMISSIONS_STALE_MAX?: string | number;
  PERMIT_SYNC?: string;
  PERMIT_API_KEY?: string;
  PERMIT_API_URL?: string;
  PERMIT_PROJECT?: string;
  PERMIT_ENVIRONMENT?: string;
  PERMIT_TENANT?: string;
  PERMIT_ROLE_MAP?: string;
  PERMIT_ON_ERROR?: 'continue' | 'deny';
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

/** A namespace option: the Action's CLAIM_NAMESPACE. */
export interface NamespaceOption {
  namespace: string;
}

/** What a verified token grants, read with the Action's claim layout. */
export interface Grants {
  roles: string[];
  permissions: string[];
  hasPermission(permission: string): boolean;
  hasAll(permissions: string | string[]): boolean;
  hasAny(permissions: string | string[]): boolean;
  hasRole(role: string): boolean;
  missing(permissions: string | string[]): string[];
}

/** The claim names the Action writes for a namespace. Throws (code `config_invalid`) if refused. */
export declare function claimNames(options: NamespaceOption): { roles: string; permissions: string };

/**
 * Reads roles and permissions from a **verified** token payload (namespaced claims, arrays or
 * space-separated strings, plus Auth0's own `permissions` claim).
 */
export declare function readGrants(payload: Record<string, unknown>, options: NamespaceOption): Grants;

/** Whether a verified token payload carries a permission. */
export declare function hasPermission(payload: Record<string, unknown>, permission: string, options: NamespaceOption): boolean;

/** Minimal shapes of Express's req/res, as used by the middleware. */
export interface AuthRequest {
  auth?: { payload?: Record<string, unknown> };
}
export interface ExpressLikeResponse {
  status(code: number): ExpressLikeResponse;
  set(name: string, value: string): ExpressLikeResponse;
  json(body: unknown): unknown;
}

/**
 * Express middleware after express-oauth2-jwt-bearer's `auth()`: 401 without a verified token,
 * 403 (`WWW-Authenticate: Bearer error="insufficient_scope"`) when a permission is missing.
 */
export declare function requirePermissions(
  permissions: string | string[],
  options: NamespaceOption,
): (req: AuthRequest, res: ExpressLikeResponse, next: (error?: unknown) => void) => void;

/**
 * For @auth0/nextjs-auth0 v4 `beforeSessionSaved`: v4 keeps only default claims in
 * `session.user`; this keeps `<namespace>/roles` and `<namespace>/permissions` too.
 */
export declare function keepClaims<S extends { user?: Record<string, unknown> }>(options: NamespaceOption): (session: S) => Promise<S>;

/** Wraps a Next.js route handler: 401 without a session, 403 when a permission is missing. */
export declare function withPermissions<C>(
  permissions: string | string[],
  options: NamespaceOption & { getSession: (request: Request) => Promise<{ user?: Record<string, unknown> } | null | undefined> },
  handler: (request: Request, context: C & { grants: Grants }) => Response | Promise<Response>,
): (request: Request, context: C) => Promise<Response>;
