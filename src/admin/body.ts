/**
 * Request bodies: JSON objects only, at most admin_body_size_limit bytes.
 * The size is decided before reading when Content-Length says it, and while
 * reading otherwise (chunked), so an unbounded body is never buffered.
 */
import { AdminError } from "./errors.ts";

/** 413 when a declared Content-Length exceeds `limit`; 400 when it is not a number. */
export function checkDeclaredLength(headers: Headers, limit: number): void {
  const declared = headers.get("content-length");
  if (declared === null) return;
  if (!/^\d{1,16}$/.test(declared.trim())) {
    throw new AdminError("bad_request", `Content-Length ${JSON.stringify(declared)} is not a size`);
  }
  if (Number(declared) > limit) throw tooLarge(limit);
}

function tooLarge(limit: number): AdminError {
  return new AdminError(
    "body_too_large",
    `request body is larger than admin_body_size_limit (${limit} bytes)`,
  );
}

/** The body's bytes, refusing (and cancelling the stream) past `limit`. */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  checkDeclaredLength(request.headers, limit);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** application/json, with any parameters (charset); 415 otherwise. */
function checkJsonType(headers: Headers): void {
  const type = headers.get("content-type")?.split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    throw new AdminError(
      "unsupported_media_type",
      `request body must be application/json (got ${type ? JSON.stringify(type) : "none"})`,
    );
  }
}

/** A JSON object from the body: 415 wrong type, 413 too large, 400 invalid_json or not an object. */
export async function readJsonObject(
  request: Request,
  limit: number,
): Promise<Record<string, unknown>> {
  checkJsonType(request.headers);
  const bytes = await readLimited(request, limit);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    const why = bytes.byteLength === 0 ? "it is empty" : (err as Error).message;
    throw new AdminError("invalid_json", `request body is not valid JSON: ${why}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AdminError("bad_request", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Refuses keys other than `allowed`, naming the first stranger. */
export function onlyKeys(object: Record<string, unknown>, allowed: readonly string[], where = "") {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      const takes = allowed.length ? allowed.join(", ") : "nothing";
      throw new AdminError(
        "invalid_parameter",
        `${where}${key}: unknown field; this body takes ${takes}`,
      );
    }
  }
}
