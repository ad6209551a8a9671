/**
 * A person-readable message from a failed tRPC call. Input validation errors arrive as zod's issue
 * list serialised to JSON; those become their messages joined, everything else is shown as sent.
 */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.trimStart().startsWith("[")) {
    try {
      const issues = JSON.parse(message) as unknown;
      if (Array.isArray(issues)) {
        const texts = issues.map((i) => (i !== null && typeof i === "object" && "message" in i ? String(i.message) : "")).filter(Boolean);
        if (texts.length > 0) return texts.join("; ");
      }
    } catch {
      // Not JSON after all: show it as it is.
    }
  }
  return message;
}
