/** The slice the ZetaSQL evaluation runs on: every expert-labelled image plus a seeded sample of the others. */
import type { ImageRecord } from '../../shared/model/index.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Every expert-labelled record plus `sample` others drawn with a fixed seed, in image id order. */
export function expertSlice(records: readonly ImageRecord[], sample: number, seed = 13): ImageRecord[] {
  const labelled = records.filter((r) => r.expert.fourFindings || r.expert.allFindings);
  const others = records.filter((r) => !(r.expert.fourFindings || r.expert.allFindings));
  const rand = rng(seed);
  for (let i = others.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [others[i], others[j]] = [others[j]!, others[i]!];
  }
  return [...labelled, ...others.slice(0, sample)].sort((a, b) => (a.imageId < b.imageId ? -1 : 1));
}
