/**
 * Request headers, parsed in one place: repeated headers, the Host shape, the request target,
 * Origin; and the framing and DNS-rebinding verdicts over them. Pure functions of header values
 * and the allow-lists the caller passes in: this module reads no configuration (config.ts uses
 * its Host parser to validate ALLOWED_HOSTS, the auth middleware its repeated-header reader).
 * Unit-tested in test/headers.test.ts.
 *
 * Why not the SDK's own helpers (`hostHeaderValidation`, `originValidation` from
 * @modelcontextprotocol/node)? They answer the response themselves, so they cannot run
 * before our own refusal path (which keeps a refused upload readable), they compare Origin by
 * host name only (any scheme or port of an allowed host passes; we compare exact origins),
 * and they parse Host with the URL parser, which accepts `user@host` and `host/path` as the
 * host. These guards return a verdict and leave the answering to the caller.
 */

/** A Host header value (or ALLOWED_HOSTS entry): host[:port], nothing else. */
const HOST_SHAPE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** The lower-cased host name of a `host[:port]` value, or undefined when it has any other shape. */
export function hostnameOfHostHeader(value: string): string | undefined {
  const match = HOST_SHAPE.exec(value);
  if (match?.[1] === undefined) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2].slice(1));
  if (port !== undefined && port > 65535) return undefined;
  return match[1].toLowerCase();
}

type GuardVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 400 | 403; readonly reason: string };

const OK: GuardVerdict = { ok: true };
const deny = (status: 400 | 403, reason: string): GuardVerdict => ({ ok: false, status, reason });

/** The values of one header in a raw header list (`rawHeaders` of node:http: name, value, ...). */
function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) values.push(rawHeaders[i + 1] ?? "");
  }
  return values;
}

/**
 * Framing: exactly one Host header of the shape host[:port]. Applies to every path, probes
 * included: an ambiguous or malformed Host is a broken request whoever sends it.
 */
export function checkHostFraming(rawHeaders: readonly string[]): GuardVerdict {
  const hosts = headerValues(rawHeaders, "host");
  if (hosts.length > 1) return deny(400, "more than one Host header");
  const host = hosts[0];
  // No Host at all is left to the route: probes may omit it, /mcp refuses it in checkHost.
  if (host !== undefined && !hostParses(host)) return deny(400, "malformed Host header");
  return OK;
}

/**
 * Whether a Host value has the shape host[:port] AND is a host the URL parser accepts: the
 * shape alone lets "999.1.1.1" or "[1::2::3]" through, which the SDK's adapter cannot build a
 * request URL from (it answered 500).
 */
export function hostParses(value: string): boolean {
  if (hostnameOfHostHeader(value) === undefined) return false;
  try {
    new URL(`http://${value}/`);
    return true;
  } catch {
    return false;
  }
}

/** Whether a host name is in the allow-list ("*" allows any). */
function hostAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.includes("*") || allowedHosts.includes(hostname.toLowerCase());
}

/**
 * DNS-rebinding protection for /mcp: the Host header, and the authority of an absolute-form
 * request target (`POST http://host/mcp`, which takes precedence over Host per RFC 9112),
 * must both name an allowed host.
 */
export function checkHost(
  hostHeader: string | undefined,
  requestTarget: string | undefined,
  allowedHosts: readonly string[],
): GuardVerdict {
  const hostname = hostHeader === undefined ? undefined : hostnameOfHostHeader(hostHeader);
  if (hostname === undefined) return deny(400, "malformed Host header");
  if (!hostAllowed(hostname, allowedHosts)) return deny(403, "Host not allowed");
  const authority = absoluteFormAuthority(requestTarget);
  if (authority === null) return deny(400, "malformed request target");
  if (authority !== undefined && !hostAllowed(authority, allowedHosts)) {
    return deny(403, "request target host not allowed");
  }
  return OK;
}

/**
 * The host name of an absolute-form request target; undefined for origin-form ("/mcp");
 * null when it is absolute-form but carries userinfo or cannot be parsed.
 */
export function absoluteFormAuthority(target: string | undefined): string | undefined | null {
  if (target === undefined || target.startsWith("/")) return undefined;
  const match = /^https?:\/\/([^/?#]*)/i.exec(target);
  if (match?.[1] === undefined || !hostParses(match[1])) return null;
  return hostnameOfHostHeader(match[1]) ?? null;
}

/**
 * The origin-form ("/path?query") of an absolute-form request target (RFC 9112 3.2.2 makes
 * servers accept `POST http://host/mcp`), or the target unchanged when it is origin-form
 * already. The SDK's Node adapter builds its request URL from Host + target, so it must
 * only ever see origin-form. undefined when the target does not parse.
 */
export function originForm(target: string): string | undefined {
  if (target.startsWith("/")) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return undefined;
  }
}

/** The path of a request target (origin- or absolute-form), or undefined when it is not valid. */
export function pathOf(target: string | undefined): string | undefined {
  // "//host/path" would parse as another host's URL: not a path this server serves.
  if (target === undefined || target.startsWith("//")) return undefined;
  try {
    return new URL(target, "http://request.invalid").pathname;
  } catch {
    return undefined;
  }
}

/** The serialized origin of an Origin header value, or undefined when it is not a URL origin. */
function originOf(originHeader: string): string | undefined {
  try {
    const origin = new URL(originHeader).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * Origin check: no Origin header (non-browser client) passes with `origin: undefined`;
 * a present one must be exactly an allowed origin.
 */
export function checkOrigin(
  originHeader: string | undefined,
  allowedOrigins: readonly string[],
): GuardVerdict & { readonly origin?: string } {
  if (originHeader === undefined) return OK;
  const origin = originOf(originHeader);
  if (origin === undefined) return deny(403, "Origin not allowed");
  if (allowedOrigins.includes("*") || allowedOrigins.includes(origin)) return { ok: true, origin };
  return deny(403, "Origin not allowed");
}
