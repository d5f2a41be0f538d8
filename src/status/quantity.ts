// Kubernetes resource quantities (`500m`, `4Gi`, `1.5e3`, `2k`) as plain numbers, exactly
// enough to compare used with hard and print a percentage. Not a full resource.Quantity:
// no canonical re-formatting, and values beyond 2^53 lose precision (irrelevant for ratios).

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// A number, then either a decimal exponent (e3, E-2) or a suffix. `1E` alone is exa, `1E3` is
// 1000: the exponent alternative needs digits after the E, so the two never collide.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

/** The value of a Kubernetes quantity; throws on anything that is not one. */
export function parseQuantity(text: string): number {
  const m = QUANTITY.exec(text.trim());
  if (m === null) throw new Error(`"${text}" is not a Kubernetes quantity like 500m, 4Gi or 2`);
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2]);
  return base * (SUFFIX[m[3] ?? ""] ?? 1);
}

/** used / hard in percent, or undefined when hard is zero or either is not a quantity. */
export function usedPercent(used: string, hard: string): number | undefined {
  let u: number;
  let h: number;
  try {
    u = parseQuantity(used);
    h = parseQuantity(hard);
  } catch {
    return undefined;
  }
  if (h <= 0) return undefined;
  return (u / h) * 100;
}

/** A percentage for people: whole percent, rounded down so 99.6% never reads as full. */
export function formatPercent(percent: number): string {
  return `${Math.floor(percent + 1e-9)}%`;
}

/** `[#####.....] 50%`: one mark per whole tenth, capped at the bar's width. */
export function percentBar(percent: number, width = 10): string {
  const filled = Math.max(0, Math.min(width, Math.floor((percent + 1e-9) / (100 / width))));
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${formatPercent(percent)}`;
}
