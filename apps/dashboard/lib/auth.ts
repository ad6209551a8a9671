import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Token access for a dashboard reachable from the network (`ganboard up --host` with GANBOARD_TOKEN):
 * scripts send `Authorization: Bearer <token>`; people sign in once through /login, which sets an
 * HttpOnly cookie holding a hash of the token (never the token itself).
 */
export const SESSION_COOKIE = "ganboard_session";

/** The configured token, or undefined when the dashboard is open (loopback only; `up` enforces that). */
export function configuredToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env.GANBOARD_TOKEN?.trim();
  return token ? token : undefined;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The cookie value proving a successful sign-in with `token`. */
export function sessionValue(token: string): string {
  return digest(`ganboard-session:${token}`).toString("hex");
}

export function isAuthorized(
  request: { authorization: string | null; sessionCookie: string | undefined },
  token: string,
): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(request.authorization ?? "")?.[1]?.trim();
  if (bearer !== undefined && secretsEqual(bearer, token)) return true;
  return request.sessionCookie !== undefined && secretsEqual(request.sessionCookie, sessionValue(token));
}

/** Only same-site paths are followed after sign-in (no `//evil.example` or absolute URLs). */
export function safeNextPath(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//") || value.includes("\\")) return "/";
  return value;
}

/**
 * A 303 to a same-site path on the host the browser used. Behind `--host 0.0.0.0` Next's
 * request.url names 0.0.0.0, and Next's proxy rejects relative Locations, so the Host header
 * decides.
 */
export function seeOther(request: Request, pathWithQuery: string): Response {
  const fallback = new URL(request.url);
  const host = request.headers.get("host") ?? fallback.host;
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() || fallback.protocol.replace(/:$/, "");
  let location: string;
  try {
    location = new URL(pathWithQuery, `${proto}://${host}`).toString();
  } catch {
    location = new URL(pathWithQuery, fallback).toString(); // malformed Host header
  }
  return new Response(null, { status: 303, headers: { Location: location } });
}
