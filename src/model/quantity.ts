// Kubernetes resource quantities (`500m`, `4Gi`, `1.5e3`, `2k`) as plain numbers: enough to
// compare used with hard, or an old quota with a new one. Not a full resource.Quantity: no
// canonical re-formatting, and values beyond 2^53 lose precision, which changes neither a ratio
// nor which of two quantities is larger.

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

/** The value of a quantity (a string like `4Gi`, or a plain number), or undefined. */
export function quantityValue(q: unknown): number | undefined {
  if (typeof q === "number") return Number.isFinite(q) ? q : undefined;
  if (typeof q !== "string") return undefined;
  const m = QUANTITY.exec(q.trim());
  if (m === null) return undefined;
  const base = Number(m[1]);
  if (m[2] !== undefined) return base * 10 ** Number(m[2]);
  return base * (SUFFIX[m[3] ?? ""] ?? 1);
}

/** The value of a Kubernetes quantity; throws on anything that is not one. */
export function parseQuantity(text: string): number {
  const value = quantityValue(text);
  if (value === undefined) throw new Error(`"${text}" is not a Kubernetes quantity like 500m, 4Gi or 2`);
  return value;
}
