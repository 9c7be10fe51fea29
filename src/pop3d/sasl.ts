/** SASL PLAIN (RFC 4616) as carried by POP3 AUTH (RFC 5034): base64, then the three fields. */

export interface PlainCredentials {
  /** Authorization identity; "" = the same as authcid. */
  authzid: string;
  authcid: string;
  password: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Strict base64 (RFC 4648 4: no line breaks, no blanks, padding required); undefined if malformed. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (
    text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)
  ) {
    return undefined;
  }
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** The client's response to PLAIN; a string result is the error text. */
export function parsePlain(base64: string): PlainCredentials | string {
  // RFC 5034 4: "=" is an empty initial response.
  const bytes = base64 === "=" ? new Uint8Array() : decodeBase64(base64);
  if (!bytes) return "Invalid base64 data in SASL response";
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return "Invalid UTF-8 in SASL PLAIN response";
  }
  const fields = text.split("\0");
  // RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
  if (fields.length !== 3) {
    return "Invalid SASL PLAIN response: expected authzid NUL authcid NUL password";
  }
  const [authzid, authcid, password] = fields;
  if (authcid === "" || password === "") {
    return "Invalid SASL PLAIN response: empty user name or password";
  }
  return { authzid, authcid, password };
}
