import net from "node:net";

/** True for hosts that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  if (h.startsWith("::ffff:")) return h.slice(7).startsWith("127.");
  return false;
}

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

/**
 * Fails with a clear message when host:port cannot be bound. Checked before anything starts, so a
 * busy port never leaves a half-started database or a build behind.
 */
export async function assertPortAvailable(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new PortInUseError(
            `port ${port} on ${host} is already in use. Stop whatever is listening there ` +
              `(e.g. \`lsof -i :${port}\` or \`ss -ltnp | grep :${port}\`) or choose another port with --port.`,
          ),
        );
      } else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") {
        reject(new Error(`cannot listen on ${host}: that address does not belong to this machine (${error.code}).`));
      } else if (error.code === "EACCES") {
        reject(new Error(`no permission to listen on ${host}:${port}; ports below 1024 need root. Choose a higher --port.`));
      } else {
        reject(new Error(`cannot listen on ${host}:${port}: ${error.message}`));
      }
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A port the OS reports free on host right now. */
export async function findFreePort(host = "127.0.0.1"): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The URL a browser on this machine should open for a server bound to host:port. */
export function browserUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return `http://${net.isIPv6(h) ? `[${h}]` : h}:${port}/`;
}

/**
 * Polls url until it answers 200, the deadline passes, or shouldStop() says the server died.
 */
export async function waitForHttpOk(
  url: string,
  opts: { timeoutMs: number; shouldStop?: () => string | undefined; intervalMs?: number; headers?: Record<string, string> },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastProblem = "no answer yet";
  while (Date.now() < deadline) {
    const stopReason = opts.shouldStop?.();
    if (stopReason) throw new Error(stopReason);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: "manual", headers: opts.headers });
      await response.arrayBuffer();
      if (response.status === 200) return;
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 250));
  }
  throw new Error(`${url} did not answer 200 within ${Math.round(opts.timeoutMs / 1000)} s (last: ${lastProblem}).`);
}
