import { NextResponse, type NextRequest } from "next/server";
import { configuredToken, isAuthorized, seeOther, SESSION_COOKIE } from "@/lib/auth";

/** With GANBOARD_TOKEN set, every page, API call and image needs the token (or the sign-in cookie). */
export function proxy(request: NextRequest): Response {
  const token = configuredToken();
  if (!token) return NextResponse.next();
  const authorized = isAuthorized(
    { authorization: request.headers.get("authorization"), sessionCookie: request.cookies.get(SESSION_COOKIE)?.value },
    token,
  );
  if (authorized) return NextResponse.next();

  const { pathname, search } = request.nextUrl;
  if (pathname.startsWith("/api/")) {
    return NextResponse.json(
      { error: "This ganboard requires a token: send `Authorization: Bearer <GANBOARD_TOKEN>` or sign in at /login." },
      { status: 401, headers: { "WWW-Authenticate": 'Bearer realm="ganboard"' } },
    );
  }
  const login = `/login?${new URLSearchParams({ next: `${pathname}${search}` })}`;
  return seeOther(request, login);
}

export const config = {
  // Everything except the sign-in page and form, and Next's static build assets (public code, no data).
  matcher: ["/((?!login$|api/login$|_next/static/|_next/image|favicon\\.ico$).*)"],
};
