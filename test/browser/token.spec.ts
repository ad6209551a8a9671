import crypto from "node:crypto";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { findFreePort } from "../../apps/cli/src/lib/net.ts";
import { startCli, type LongRunningCli } from "../helpers/cli.ts";
import { artifactsDir, freshTarget, UP_READY_TIMEOUT_MS } from "./support.ts";

// A dashboard bound to a network address must not be open: with GANBOARD_TOKEN, every page and API
// call needs the token (Bearer header for scripts, sign-in form + HttpOnly cookie for people).

test("a network-bound ganboard requires its token for pages and API calls", async ({ page, context }) => {
  const token = crypto.randomBytes(24).toString("base64url");
  const target = await freshTarget({ GANBOARD_TOKEN: token });
  const port = await findFreePort("0.0.0.0");
  let up: LongRunningCli | undefined;
  try {
    up = startCli(["up", "--host", "0.0.0.0", "--port", String(port), "--runners", "0"], { env: target.env });
    const url = await up.waitForStdout(/^http:\/\/127\.0\.0\.1:\d+\/$/, UP_READY_TIMEOUT_MS);
    const statusApi = new URL("api/trpc/status", url).toString();

    // Scripts: no token → 401; wrong token → 401; Bearer token → the data.
    const anonymous = await fetch(statusApi);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(statusApi, { headers: { Authorization: "Bearer not-the-token" } })).status).toBe(401);
    const withToken = await fetch(statusApi, { headers: { Authorization: `Bearer ${token}` } });
    expect(withToken.status).toBe(200);
    expect(JSON.stringify(await withToken.json())).toContain("migrations");

    // People: the page redirects to the sign-in form; a wrong token is refused next to the field.
    await page.goto(url);
    await expect(page).toHaveURL(new URL("login?next=%2F", url).toString());
    await page.getByLabel("Token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByLabel("Token")).toHaveAccessibleDescription("That token is not correct.");
    await expect(page.getByLabel("Token")).toHaveAttribute("aria-invalid", "true");
    await page.screenshot({ path: path.join(artifactsDir, "login.png"), fullPage: true });

    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(url);
    await expect(page.getByRole("heading", { name: "Sweeps", level: 1 })).toBeVisible();
    await page.goto(new URL("status", url).toString());
    await expect(page.getByTestId("database-migrations")).toContainText("up to date");

    const [cookie] = (await context.cookies()).filter((c) => c.name === "ganboard_session");
    expect(cookie).toBeDefined();
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.value).not.toContain(token);

    const exit = await up.stop("SIGTERM", 60_000);
    expect(exit, up.stderr()).toEqual({ code: 0, signal: null });
  } finally {
    if (up) await up.stop("SIGTERM", 30_000);
    await target.cleanup();
  }
});
