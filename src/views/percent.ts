// Quota usage for people: percentages and bars.

import { parseQuantity } from "../model/quantity.js";

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
