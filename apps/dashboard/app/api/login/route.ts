import { configuredToken, safeNextPath, secretsEqual, seeOther, sessionValue, SESSION_COOKIE } from "@/lib/auth";

export const dynamic = "force-dynamic";

/** The sign-in form posts here; a correct token sets the HttpOnly session cookie. */
export async function POST(request: Request): Promise<Response> {
  const form = await request.formData();
  const next = safeNextPath(form.get("next"));
  const token = configuredToken();
  if (!token) return seeOther(request, next);

  const given = form.get("token");
  if (typeof given !== "string" || !secretsEqual(given.trim(), token)) {
    return seeOther(request, `/login?${new URLSearchParams({ error: "1", next })}`);
  }
  const response = seeOther(request, next);
  const secure = request.headers.get("x-forwarded-proto") === "https" || new URL(request.url).protocol === "https:";
  const maxAge = 60 * 60 * 24 * 30;
  response.headers.append(
    "Set-Cookie",
    `${SESSION_COOKIE}=${sessionValue(token)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`,
  );
  return response;
}
