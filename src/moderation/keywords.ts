import { AhoCorasick } from './aho-corasick';
import { fold, foldCodePoint } from './normalize';

/** A list term found in a text: the term as listed, and the raw text it was found in. */
export interface KeywordHit {
  term: string;
  /** The stretch of the original text that folded into the term (separators included). */
  excerpt: string;
}

/**
 * One keyword list, folded (see normalize.ts) and compiled into an automaton. Immutable: a
 * reloaded list is a new matcher, and a reply that started with the old one finishes with it.
 */
export class KeywordMatcher {
  private readonly automaton: AhoCorasick;
  /** The terms as written in the file, by index of their folded form. */
  private readonly listed: string[];

  constructor(terms: readonly string[]) {
    const byFolded = new Map<string, string>();
    for (const term of terms) {
      const folded = fold(term);
      if (folded && !byFolded.has(folded)) byFolded.set(folded, term);
    }
    this.automaton = new AhoCorasick([...byFolded.keys()]);
    this.listed = [...byFolded.values()];
  }

  /** Distinct terms (after folding; terms that fold to nothing are left out). */
  get size(): number {
    return this.listed.length;
  }

  /** The first term in a whole text, or null. */
  scan(text: string): KeywordHit | null {
    const stream = this.stream();
    const { hit } = stream.push(text);
    return hit;
  }

  /** A scanner for text that arrives in pieces (a streamed reply). */
  stream(): KeywordStream {
    return new KeywordStream(this.automaton, this.listed);
  }
}

/**
 * Scans a streamed text and says how much of it may be let through: a term split across two
 * deltas ("敏" then "感") is caught before any of it is released. After each delta it holds
 * back the characters that could still begin a term (the automaton's depth: at most the
 * longest term's length - 1 folded characters, with the separators among them) until the
 * next delta shows they do not, or the text ends.
 */
export class KeywordStream {
  private state = 0;
  /** Raw text received but not yet released. */
  private held = '';
  /** For each folded character of the held text, the offset in `held` of the raw code point it came from. */
  private heldStarts: number[] = [];

  constructor(
    private readonly automaton: AhoCorasick,
    private readonly listed: readonly string[],
  ) {}

  /** Reads a delta: what may be released now, or the hit (then nothing more is released). */
  push(delta: string): { released: string; hit: KeywordHit | null } {
    const base = this.held.length;
    this.held += delta;
    let offset = base;
    for (const ch of delta) {
      for (const f of foldCodePoint(ch.codePointAt(0)!)) {
        this.state = this.automaton.step(this.state, f.codePointAt(0)!);
        this.heldStarts.push(offset);
        const term = this.automaton.match(this.state);
        if (term >= 0) return { released: '', hit: this.hitOf(term, offset + ch.length) };
      }
      offset += ch.length;
    }
    return { released: this.release(), hit: null };
  }

  /** The text ends: what was held back can go (no term can complete any more). */
  end(): string {
    const rest = this.held;
    this.held = '';
    this.heldStarts = [];
    this.state = 0;
    return rest;
  }

  /** Releases everything before the first folded character that may still begin a term. */
  private release(): string {
    const keep = this.automaton.depth(this.state);
    const cut = keep === 0 ? this.held.length : this.heldStarts[this.heldStarts.length - keep];
    const out = this.held.slice(0, cut);
    this.held = this.held.slice(cut);
    this.heldStarts = this.heldStarts.slice(this.heldStarts.length - keep).map((s) => s - cut);
    return out;
  }

  private hitOf(term: number, end: number): KeywordHit {
    const length = Array.from(this.automaton.terms[term]).length;
    const start = this.heldStarts[this.heldStarts.length - length];
    return { term: this.listed[term], excerpt: this.held.slice(start, end) };
  }
}

/** The terms of a list file: one a line, `#` starts a comment line, blank lines ignored. */
export function parseKeywordList(text: string): string[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}
