import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { fileStem, parseTrialId } from "../../apps/dashboard/lib/trial-files.ts";
import { fromColumns } from "../../apps/dashboard/lib/chart-series.ts";
import { downsample, toColumns } from "../../packages/api/src/lib/downsample.ts";

const id = "0f8e2c1a-1234-4abc-8def-0123456789ab";

describe("dashboard file routes", () => {
  it("the token proxy covers the image, timelapse and checkpoint routes", () => {
    // proxy.ts imports through the app's "@/" alias, so its matcher is read from the source. Next
    // anchors each matcher at both ends.
    const source = fs.readFileSync(new URL("../../apps/dashboard/proxy.ts", import.meta.url), "utf8");
    const list = /matcher:\s*(\[[^\]]*\])/.exec(source)?.[1];
    expect(list).toBeDefined();
    const matchers = (JSON.parse(list as string) as string[]).map((m) => new RegExp(`^${m}$`));
    for (const path of [`/api/trials/${id}/grid/3`, `/api/trials/${id}/timelapse`, `/api/trials/${id}/checkpoint`, `/runs/${id}`, "/compare", "/runners"]) {
      expect(matchers.some((m) => m.test(path)), path).toBe(true);
    }
    expect(matchers.some((m) => m.test("/login"))).toBe(false);
  });

  it("parses trial ids and makes header-safe file names", async () => {
    expect(parseTrialId(id.toUpperCase())).toEqual({ id });
    const bad = parseTrialId("x'; drop table trials");
    expect("error" in bad && bad.error.status).toBe(400);
    if ("error" in bad) expect(await bad.error.text()).toContain("Not a run id");
    expect(fileStem("Anime faces — 64px #3")).toBe("Anime-faces-64px-3");
    expect(fileStem('"; rm -rf')).toBe("rm-rf");
    expect(fileStem("😀")).toBe("run");
  });

  it("series columns round-trip to buckets (values to 7 significant digits)", () => {
    const buckets = downsample(
      Array.from({ length: 50 }, (_, i) => ({ step: i + 1, epoch: 1, wallTime: 1.7e9 + i / 3, value: i === 7 ? Number.NaN : Math.PI * i })),
      20,
    );
    const back = fromColumns(JSON.parse(JSON.stringify(toColumns(buckets))));
    expect(back).toHaveLength(buckets.length);
    back.forEach((b, i) => {
      expect({ ...b, value: null, min: null, max: null, wallTime: 0 }).toEqual({ ...buckets[i], value: null, min: null, max: null, wallTime: 0 });
      expect(b.wallTime).toBeCloseTo(buckets[i].wallTime, 3);
      for (const k of ["value", "min", "max"] as const) expect(b[k]).toBeCloseTo(buckets[i][k] as number, 4);
    });
  });
});
