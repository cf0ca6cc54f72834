/**
 * An Aho-Corasick automaton over code points: every term of a list found in one pass over the
 * text, whatever the list's size, and fed one character at a time, so a stream can be
 * scanned across deltas by keeping the state between them. Small on purpose: the libraries
 * on npm scan whole strings and do not expose the state and its depth, which the stream needs
 * (see `depth`).
 */
export class AhoCorasick {
  /** children[node]: code point -> child (absent for leaves). */
  private readonly children: Array<Map<number, number> | undefined> = [];
  private readonly fail: number[] = [];
  private readonly depths: number[] = [];
  /** The term that ends at a node, or at the longest suffix of it that ends one; -1 when none. */
  private readonly hit: number[] = [];
  readonly terms: readonly string[];
  /** Code points of the longest term. */
  readonly longest: number;

  constructor(terms: readonly string[]) {
    this.terms = terms;
    this.newNode(0);
    let longest = 0;
    terms.forEach((term, index) => {
      let node = 0;
      let depth = 0;
      for (const ch of term) {
        const cp = ch.codePointAt(0)!;
        depth++;
        let kids = this.children[node];
        if (!kids) kids = this.children[node] = new Map();
        let next = kids.get(cp);
        if (next === undefined) {
          next = this.newNode(depth);
          kids.set(cp, next);
        }
        node = next;
      }
      if (depth > 0 && this.hit[node] === -1) this.hit[node] = index;
      longest = Math.max(longest, depth);
    });
    this.longest = longest;
    this.link();
  }

  private newNode(depth: number): number {
    this.children.push(undefined);
    this.fail.push(0);
    this.depths.push(depth);
    this.hit.push(-1);
    return this.children.length - 1;
  }

  /** Failure links, breadth first, and each node's hit through them (so a match is one lookup). */
  private link(): void {
    const queue: number[] = [];
    for (const child of this.children[0]?.values() ?? []) queue.push(child);
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i];
      for (const [cp, child] of this.children[node] ?? []) {
        this.fail[child] = this.step(this.fail[node], cp);
        if (this.hit[child] === -1) this.hit[child] = this.hit[this.fail[child]];
        queue.push(child);
      }
    }
  }

  /** The state after reading `cp` in `state` (0 is the start). */
  step(state: number, cp: number): number {
    for (;;) {
      const next = this.children[state]?.get(cp);
      if (next !== undefined) return next;
      if (state === 0) return 0;
      state = this.fail[state];
    }
  }

  /** The index of a term that ends here (the longest one ending exactly at this node, else through its suffixes), or -1. */
  match(state: number): number {
    return this.hit[state];
  }

  /**
   * How many of the last characters read may still begin a term: the longest suffix of the
   * text so far that is a prefix of some term. Nothing before those characters can be part
   * of a match any more, whatever comes next (at most `longest` - 1 after a step with no match).
   */
  depth(state: number): number {
    return this.depths[state];
  }

  /** The first term found in already folded text, with the index (in code points) just past it, or null. */
  find(text: string): { term: number; end: number } | null {
    let state = 0;
    let i = 0;
    for (const ch of text) {
      state = this.step(state, ch.codePointAt(0)!);
      const term = this.hit[state];
      if (term >= 0) return { term, end: i + 1 };
      i++;
    }
    return null;
  }
}
