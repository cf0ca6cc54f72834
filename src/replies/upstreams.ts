import type { Upstream } from '../models/catalog-config';

/**
 * The order to try a model's upstreams in for one reply: as listed, or, when they carry
 * weights, a weighted random order (an upstream with weight 3 goes first three times as often
 * as one with weight 1; weight 0 is only a fallback).
 */
export function upstreamOrder(upstreams: readonly Upstream[], random: () => number): Upstream[] {
  if (!upstreams.some((u) => u.weight !== null)) return [...upstreams];
  const left = [...upstreams];
  const order: Upstream[] = [];
  while (left.length) {
    const total = left.reduce((n, u) => n + (u.weight ?? 0), 0);
    let pick = 0;
    if (total > 0) {
      let r = random() * total;
      pick = left.findIndex((u) => (r -= u.weight ?? 0) < 0);
      if (pick < 0) pick = left.length - 1;
    }
    order.push(...left.splice(pick, 1));
  }
  return order;
}
