import { describe, expect, it } from "vitest";
import { configuredToken, isAuthorized, safeNextPath, seeOther, sessionValue } from "../../apps/dashboard/lib/auth.ts";

describe("dashboard token checks", () => {
  const token = "correct horse battery staple";

  it("accepts the Bearer token or the sign-in cookie, nothing else", () => {
    expect(isAuthorized({ authorization: `Bearer ${token}`, sessionCookie: undefined }, token)).toBe(true);
    expect(isAuthorized({ authorization: `bearer   ${token}`, sessionCookie: undefined }, token)).toBe(true);
    expect(isAuthorized({ authorization: null, sessionCookie: sessionValue(token) }, token)).toBe(true);

    expect(isAuthorized({ authorization: null, sessionCookie: undefined }, token)).toBe(false);
    expect(isAuthorized({ authorization: "Bearer wrong", sessionCookie: undefined }, token)).toBe(false);
    expect(isAuthorized({ authorization: `Basic ${token}`, sessionCookie: undefined }, token)).toBe(false);
    // The cookie holds a hash of the token, so the raw token is not a valid cookie.
    expect(isAuthorized({ authorization: null, sessionCookie: token }, token)).toBe(false);
    expect(sessionValue(token)).not.toContain(token);
    expect(sessionValue(token)).not.toBe(sessionValue(`${token}!`));
  });

  it("treats a blank GANBOARD_TOKEN as no token", () => {
    expect(configuredToken({ GANBOARD_TOKEN: "  " })).toBeUndefined();
    expect(configuredToken({})).toBeUndefined();
    expect(configuredToken({ GANBOARD_TOKEN: " s3cret " })).toBe("s3cret");
  });

  it("follows only same-site paths after sign-in", () => {
    expect(safeNextPath("/sweeps/1?tab=trials")).toBe("/sweeps/1?tab=trials");
    for (const evil of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "", undefined, 42]) {
      expect(safeNextPath(evil)).toBe("/");
    }
  });

  it("redirects to the host the browser used, not the bind address", () => {
    const request = new Request("http://0.0.0.0:3000/api/login", { headers: { host: "gpu-box.lan:3000" } });
    const response = seeOther(request, "/login?error=1");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("http://gpu-box.lan:3000/login?error=1");
  });
});
