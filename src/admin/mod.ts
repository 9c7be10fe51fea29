/**
 * facteur's admin HTTP API (a `[services.NAME]` with command = "admin"):
 * queue, configuration, statistics, metrics and health, with bearer tokens.
 */
export { adminApp, ROUTES } from "./app.ts";
export { hashToken, loadTokens, TokenSet } from "./auth.ts";
export { AdminError, type ErrorCode } from "./errors.ts";
export { openApiDocument } from "./openapi.ts";
export { adminListenAddress, type AdminServer, startAdminServer } from "./server.ts";
export type { AdminDeps, AdminEnv } from "./types.ts";
