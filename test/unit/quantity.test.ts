import { describe, expect, it } from "vitest";
import { parseQuantity } from "../../src/model/quantity.js";
import { formatPercent, percentBar, usedPercent } from "../../src/views/percent.js";

describe("parseQuantity", () => {
  it.each([
    ["0", 0],
    ["2", 2],
    ["500m", 0.5],
    ["50m", 0.05],
    ["1500u", 0.0015],
    ["250n", 2.5e-7],
    ["1.5", 1.5],
    [".5", 0.5],
    ["2k", 2000],
    ["3M", 3e6],
    ["4G", 4e9],
    ["1T", 1e12],
    ["1P", 1e15],
    ["2E", 2e18],
    ["1Ki", 1024],
    ["64Mi", 64 * 2 ** 20],
    ["4Gi", 4 * 2 ** 30],
    ["1.5Gi", 1.5 * 2 ** 30],
    ["1Ti", 2 ** 40],
    ["1Pi", 2 ** 50],
    ["1Ei", 2 ** 60],
    ["1e3", 1000],
    ["1E3", 1000],
    ["1.5e2", 150],
    ["5e-3", 0.005],
    ["+2", 2],
    ["-1", -1],
  ])("%s = %d", (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 12);
  });

  it.each(["", "lots", "4GB", "1mi", "Gi", "1 Gi", "1e", "1KiB", "--1"])("refuses %j", (text) => {
    expect(() => parseQuantity(text)).toThrow(/not a Kubernetes quantity/);
  });

  it("compares mixed notations of the same amount", () => {
    expect(parseQuantity("1000m")).toBe(parseQuantity("1"));
    expect(parseQuantity("1024Mi")).toBe(parseQuantity("1Gi"));
    expect(parseQuantity("1k")).toBe(parseQuantity("1e3"));
  });
});

describe("percentages", () => {
  it.each([
    ["3", "20", 15],
    ["50m", "2", 2.5],
    ["1Gi", "4Gi", 25],
    ["512Mi", "1Gi", 50],
    ["1500m", "1", 150],
    ["0", "10", 0],
    ["100m", "500m", 20],
  ])("%s of %s is %d%%", (used, hard, percent) => {
    expect(usedPercent(used, hard)).toBeCloseTo(percent, 9);
  });

  it("has no percentage of a zero or unparsable hard limit", () => {
    expect(usedPercent("0", "0")).toBeUndefined();
    expect(usedPercent("1", "x")).toBeUndefined();
  });

  it("rounds down for people, ignoring float noise", () => {
    expect(formatPercent(usedPercent("3", "20") ?? NaN)).toBe("15%");
    expect(formatPercent(usedPercent("29", "100") ?? NaN)).toBe("29%");
    expect(formatPercent(99.6)).toBe("99%");
    expect(formatPercent(0.4)).toBe("0%");
  });

  it("draws bars of ten marks", () => {
    expect(percentBar(50)).toBe("[#####.....] 50%");
    expect(percentBar(0)).toBe("[..........] 0%");
    expect(percentBar(15)).toBe("[#.........] 15%");
    expect(percentBar(100)).toBe("[##########] 100%");
    expect(percentBar(150)).toBe("[##########] 150%");
    expect(percentBar(29)).toBe("[##........] 29%");
  });
});
