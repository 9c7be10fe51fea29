/**
 * The CLI side of the admin API (v1, /tmp/admin_api.md): where the service
 * listens (the [services.X] with command = "admin"), which bearer token to
 * send, and error answers turned into messages that name the problem.
 */
import type { Config } from "../config/mod.ts";

/** The admin service's base URL, e.g. "http://127.0.0.1:8025". */
export interface AdminEndpoint {
  service: string;
  url: string;
}

/**
 * The address to connect to for a service's listen value: a bare port (or
 * a wildcard address) is reached on loopback, where the service listens too.
 */
export function adminUrl(listen: string): string | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(listen);
  if (bracketed) {
    const host = bracketed[1] === "::" ? "::1" : bracketed[1];
    return `http://[${host}]:${bracketed[2]}`;
  }
  const hostPort = /^([^:\s]+):(\d+)$/.exec(listen);
  if (hostPort) {
    const host = hostPort[1] === "0.0.0.0" || hostPort[1] === "*" ? "127.0.0.1" : hostPort[1];
    return `http://${host}:${hostPort[2]}`;
  }
  if (/^\d+$/.test(listen)) return `http://127.0.0.1:${listen}`;
  return undefined;
}

/** The first enabled admin service, or undefined when none is configured. */
export function adminEndpoint(config: Config): AdminEndpoint | undefined {
  const service = config.services.find((s) => s.command === "admin" && s.enabled);
  if (!service) return undefined;
  const url = adminUrl(service.listen);
  return url ? { service: service.name, url } : undefined;
}

export type TokenChoice =
  | { token: string; source: string; problem?: undefined }
  | { token?: undefined; problem?: string };

/**
 * The token to send: --token, else $FACTEUR_ADMIN_TOKEN, else the first line
 * of admin_token_file (the same file the server reads; usually root's only).
 * An explicit choice wins over the configured file.
 */
export function chooseToken(
  config: Config,
  option: string | undefined,
  env: (name: string) => string | undefined = envGet,
  readFile: (path: string) => string = Deno.readTextFileSync,
): TokenChoice {
  if (option) return { token: option, source: "--token" };
  const fromEnv = env("FACTEUR_ADMIN_TOKEN");
  if (fromEnv) return { token: fromEnv.trim(), source: "$FACTEUR_ADMIN_TOKEN" };
  const file = config.path("admin_token_file");
  if (!file) return {};
  try {
    const token = readFile(file).split("\n")[0].trim();
    if (token) return { token, source: `admin_token_file ${file}` };
    return { problem: `admin_token_file ${file} is empty` };
  } catch (e) {
    return { problem: `cannot read admin_token_file ${file}: ${(e as Error).message}` };
  }
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** An error answer of the API, or no answer at all (status 0). */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: string[] = [],
    readonly retryAfter?: string,
  ) {
    super(message);
    this.name = "AdminApiError";
  }

  /** The line (and problem lines) a CLI prints. */
  describe(tokenSource?: string): string {
    if (this.status === 0) return `admin API unreachable: ${this.message}`;
    let text = `${this.message} (HTTP ${this.status} ${this.code})`;
    if (this.status === 401) {
      text += tokenSource
        ? `; the token from ${tokenSource} was refused`
        : "; no token: set admin_token_file, $FACTEUR_ADMIN_TOKEN or --token";
    }
    if (this.status === 429 && this.retryAfter) text += `; retry after ${this.retryAfter}s`;
    return [text, ...this.problems.map((p) => `  ${p}`)].join("\n");
  }
}

/** The contract's error body, or a made-up one naming the status when the body is not that. */
export async function apiErrorOf(response: Response): Promise<AdminApiError> {
  const text = await response.text();
  let code = `http_${response.status}`;
  let message = text.trim().slice(0, 200) || response.statusText || "error";
  let problems: string[] = [];
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "object" && body.error) {
      if (typeof body.error.code === "string") code = body.error.code;
      if (typeof body.error.message === "string") message = body.error.message;
      if (Array.isArray(body.error.problems)) problems = body.error.problems.map(String);
    }
  } catch {
    // not JSON: the text itself is the best description
  }
  return new AdminApiError(
    response.status,
    code,
    message,
    problems,
    response.headers.get("retry-after") ?? undefined,
  );
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    readonly token?: string,
    readonly fetchFn: FetchLike = fetch,
    readonly timeoutMs = 30_000,
  ) {}

  async #send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers["authorization"] = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchFn(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new AdminApiError(0, "unreachable", `${this.baseUrl}: ${(e as Error).message}`);
    }
    if (!response.ok) throw await apiErrorOf(response);
    return response;
  }

  /** A JSON answer; rejects with AdminApiError. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, body);
    try {
      return await response.json() as T;
    } catch (e) {
      throw new AdminApiError(
        response.status,
        "bad_response",
        `${method} ${path}: the answer is not JSON: ${(e as Error).message}`,
      );
    }
  }

  /** Raw bytes (GET /v1/queue/{id}/raw). */
  async bytes(path: string): Promise<Uint8Array> {
    const response = await this.#send("GET", path);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** GET /readyz: true when ready, false on 503; rejects when unreachable. */
  async ready(): Promise<boolean> {
    try {
      await this.#send("GET", "/readyz");
      return true;
    } catch (e) {
      if (e instanceof AdminApiError && e.status === 503) return false;
      throw e;
    }
  }
}

/** Query string from the defined values only ("" stays: sender= is the null sender). */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, String(v));
  const text = search.toString();
  return text ? `?${text}` : "";
}
