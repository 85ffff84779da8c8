/**
 * Fault injection for the fault tests: a seeded random source (mulberry32) whose seed is printed, so a run that
 * fails can be repeated with FAULT_SEED=<seed>.
 */
export interface SeededRandom {
  seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform whole number in [min, max]. */
  int(min: number, max: number): number;
}

export function seededRandom(purpose: string): SeededRandom {
  const seed = process.env.FAULT_SEED ? Number(process.env.FAULT_SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`${purpose}: seed ${seed} (repeat with FAULT_SEED=${seed})`);
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}
