import net from "node:net";
import { describe, expect, it } from "vitest";
import { assertPortAvailable, browserUrl, findFreePort, isLoopbackHost, PortInUseError } from "./net.ts";

describe("isLoopbackHost", () => {
  it.each(["127.0.0.1", "127.1.2.3", "localhost", "app.localhost", "::1", "[::1]", "::ffff:127.0.0.1", " LOCALHOST "])(
    "%s is loopback",
    (host) => expect(isLoopbackHost(host)).toBe(true),
  );
  it.each(["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "128.0.0.1", "::ffff:10.0.0.1"])(
    "%s is reachable from other machines",
    (host) => expect(isLoopbackHost(host)).toBe(false),
  );
});

describe("assertPortAvailable", () => {
  it("passes for a free port and fails with PortInUseError for a bound one", async () => {
    const port = await findFreePort();
    await expect(assertPortAvailable("127.0.0.1", port)).resolves.toBeUndefined();

    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port }, resolve));
    try {
      const error = await assertPortAvailable("127.0.0.1", port).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect((error as Error).message).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("browserUrl", () => {
  it("points wildcard binds at loopback and brackets IPv6", () => {
    expect(browserUrl("0.0.0.0", 3000)).toBe("http://127.0.0.1:3000/");
    expect(browserUrl("::1", 3001)).toBe("http://[::1]:3001/");
    expect(browserUrl("127.0.0.1", 80)).toBe("http://127.0.0.1:80/");
  });
});
