/**
 * Python's difflib.SequenceMatcher(None, a, b).ratio(), exactly: gs-ready's fuzzy street matching (original §9.3.3)
 * must pick the same device the original picked, so ties and near-ties have to come out the same.
 *
 * Reproduced parts of CPython's Lib/difflib.py:
 * - __chain_b: b2j index of b; with autojunk (the default) and len(b) >= 200, elements occurring more than
 *   len(b) // 100 + 1 times are "popular" and dropped from b2j (they are not junk: matches still extend over them);
 * - find_longest_match with isjunk = None (no junk, so only the first pair of extension loops can act);
 * - get_matching_blocks' recursion over the unmatched regions (a stack, popped from the end, as CPython does).
 * Sequences are compared by Unicode code point, as Python iterates a str.
 */

interface Match {
  i: number;
  j: number;
  size: number;
}

/** A SequenceMatcher over two strings (isjunk = None, autojunk = true). */
export class SequenceMatcher {
  private readonly a: string[];
  private readonly b: string[];
  private readonly b2j = new Map<string, number[]>();

  constructor(a: string, b: string) {
    this.a = Array.from(a);
    this.b = Array.from(b);
    this.chainB();
  }

  private chainB(): void {
    const b = this.b;
    for (let j = 0; j < b.length; j++) {
      const elt = b[j]!;
      let idx = this.b2j.get(elt);
      if (!idx) this.b2j.set(elt, (idx = []));
      idx.push(j);
    }
    // Autojunk popularity heuristic (CPython: n >= 200, ntest = n // 100 + 1, popular when count > ntest).
    const n = b.length;
    if (n >= 200) {
      const ntest = Math.floor(n / 100) + 1;
      for (const [elt, idx] of [...this.b2j]) if (idx.length > ntest) this.b2j.delete(elt);
    }
  }

  findLongestMatch(alo: number, ahi: number, blo: number, bhi: number): Match {
    const { a, b, b2j } = this;
    let besti = alo;
    let bestj = blo;
    let bestsize = 0;
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const newj2len = new Map<number, number>();
      const js = b2j.get(a[i]!);
      if (js) {
        for (const j of js) {
          if (j < blo) continue;
          if (j >= bhi) break;
          const k = (j2len.get(j - 1) ?? 0) + 1;
          newj2len.set(j, k);
          if (k > bestsize) {
            besti = i - k + 1;
            bestj = j - k + 1;
            bestsize = k;
          }
        }
      }
      j2len = newj2len;
    }
    // Extend over equal elements the index left out (popular ones); no element is junk with isjunk = None.
    while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) {
      besti--;
      bestj--;
      bestsize++;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) bestsize++;
    return { i: besti, j: bestj, size: bestsize };
  }

  /** Total size of the matching blocks (what ratio() sums). */
  matchCount(): number {
    const queue: [number, number, number, number][] = [[0, this.a.length, 0, this.b.length]];
    let matches = 0;
    while (queue.length) {
      const [alo, ahi, blo, bhi] = queue.pop()!;
      const { i, j, size: k } = this.findLongestMatch(alo, ahi, blo, bhi);
      if (k) {
        matches += k;
        if (alo < i && blo < j) queue.push([alo, i, blo, j]);
        if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
      }
    }
    return matches;
  }

  /** 2.0 * M / T; 1.0 when both sequences are empty. */
  ratio(): number {
    const length = this.a.length + this.b.length;
    return length ? (2.0 * this.matchCount()) / length : 1.0;
  }
}

/** difflib.SequenceMatcher(None, a, b).ratio(). */
export function similarityRatio(a: string, b: string): number {
  return new SequenceMatcher(a, b).ratio();
}
