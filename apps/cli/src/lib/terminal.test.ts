import { describe, expect, it } from "vitest";
import { buildPhase } from "./dashboard.ts";
import { formatDuration, renderBar } from "./terminal.ts";

describe("renderBar", () => {
  it("fills proportionally and clamps", () => {
    expect(renderBar(0, 10)).toBe("[..........]   0%");
    expect(renderBar(0.5, 10)).toBe("[#####.....]  50%");
    expect(renderBar(1.7, 10)).toBe("[##########] 100%");
    expect(renderBar(Number.NaN, 4)).toBe("[....]   0%");
  });
});

describe("formatDuration", () => {
  it("uses ms, s, then minutes", () => {
    expect(formatDuration(250)).toBe("250 ms");
    expect(formatDuration(12_345)).toBe("12.3 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
  });
});

describe("buildPhase (next build output → progress)", () => {
  it("recognises Next 16's phases in order", () => {
    const lines = [
      "   Creating an optimized production build ...",
      " ✓ Compiled successfully in 20.6s",
      "   Collecting page data using 1 worker ...",
      "   Generating static pages using 1 worker (0/3) ...",
      " ✓ Generating static pages using 1 worker (3/3) in 1231ms",
      "   Finalizing page optimization ...",
    ];
    const phases = lines.map(buildPhase);
    expect(phases.map((p) => p?.text)).toEqual([
      "compiling",
      "compiled",
      "collecting page data",
      "generating pages 0/3",
      "generating pages 3/3",
      "finalizing",
    ]);
    const fractions = phases.map((p) => p?.fraction ?? -1);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions); // never goes backwards
  });
  it("ignores other lines, including colour codes around them", () => {
    expect(buildPhase("\u001b[1m▲ Next.js 16.5.0\u001b[22m (Turbopack)")).toBeUndefined();
    expect(buildPhase("Route (app)")).toBeUndefined();
  });
});
