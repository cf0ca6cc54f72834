import fc from 'fast-check';
import { AhoCorasick } from './aho-corasick';
import { KeywordMatcher, parseKeywordList } from './keywords';
import { fold } from './normalize';

describe('fold', () => {
  it('folds width, case, separators and traditional characters', () => {
    expect(fold('ＡＢＣ１２３')).toBe('abc123');
    expect(fold('敏 感.词—！')).toBe('敏感词');
    expect(fold('發財 臺灣')).toBe('发财台湾');
    expect(fold('f\u200Bu😀c-k')).toBe('fuck');
    expect(fold('Cafe\u0301')).toBe('cafe');
  });
});

describe('AhoCorasick', () => {
  it('finds every term a naive search finds, and only those (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', '敏', '感');
    const word = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), fc.array(alphabet, { maxLength: 30 }).map((a) => a.join('')), (terms, text) => {
        const found = new AhoCorasick(terms).find(text);
        const naive = terms.some((t) => text.includes(t));
        expect(found !== null).toBe(naive);
        if (found) expect(text.slice(0, found.end).endsWith(terms[found.term])).toBe(true);
      }),
    );
  });

  it('reports how many trailing characters may still begin a term', () => {
    const ac = new AhoCorasick(['abcd', 'bcx']);
    let state = 0;
    for (const ch of 'zab') state = ac.step(state, ch.codePointAt(0)!);
    expect(ac.depth(state)).toBe(2); // "ab" may become "abcd"
    state = ac.step(state, 'q'.codePointAt(0)!);
    expect(ac.depth(state)).toBe(0);
    expect(ac.longest).toBe(4);
  });
});

describe('KeywordMatcher', () => {
  const list = new KeywordMatcher(parseKeywordList('# a comment\n\n敏感词\n  BadWord  \n,,,\n'));

  it('reads one term a line, skipping comments, blanks and terms that fold to nothing', () => {
    expect(list.size).toBe(2);
    expect(parseKeywordList('\uFEFFa\r\nb\n#c')).toEqual(['a', 'b']);
  });

  it.each([
    ['plain', '这是敏感词。', '敏感词'],
    ['spaces between characters', '这是 敏 感 词', '敏 感 词'],
    ['punctuation between characters', '敏.感-词', '敏.感-词'],
    ['full-width letters, mixed case', 'a ｂＡｄ　ｗｏｒｄ!', 'ｂＡｄ　ｗｏｒｄ'],
    ['traditional characters', '這是敏感詞', '敏感詞'],
    ['emoji and zero-width spaces', 'b😀a\u200Bdword', 'b😀a\u200Bdword'],
  ])('catches a term written %s', (_how, text, excerpt) => {
    expect(list.scan(text)).toEqual({ term: expect.any(String), excerpt });
  });

  it('lets clean text through', () => {
    expect(list.scan('敏捷的词感: a bad apple, a good word')).toBeNull();
  });

  it('streams: holds back what may begin a term, releases it once it cannot, and catches a term split across deltas', () => {
    const s = list.stream();
    expect(s.push('你好，敏')).toEqual({ released: '你好，', hit: null });
    expect(s.push('捷')).toEqual({ released: '敏捷', hit: null });
    expect(s.push('b')).toEqual({ released: '', hit: null });
    expect(s.push('ad')).toEqual({ released: '', hit: null });
    expect(s.end()).toBe('bad');

    const split = list.stream();
    expect(split.push('好的敏')).toEqual({ released: '好的', hit: null });
    expect(split.push('感')).toEqual({ released: '', hit: null });
    expect(split.push('词！')).toEqual({ released: '', hit: { term: '敏感词', excerpt: '敏感词' } });
  });

  it('never releases a whole term, however a text is cut into deltas (property)', () => {
    const text = fc.array(fc.constantFrom('敏', '感', '词', ' ', '好', 'b', 'a', 'd', 'w', 'o', 'r'), { maxLength: 40 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 20 }), (t, cuts) => {
        const s = list.stream();
        let released = '';
        let hit = false;
        for (let at = 0, i = 0; at < t.length && !hit; i++) {
          const n = cuts[i % cuts.length];
          const r = s.push(t.slice(at, at + n));
          at += n;
          released += r.released;
          hit = r.hit !== null;
        }
        if (!hit) released += s.end();
        expect(hit).toBe(list.scan(t) !== null);
        expect(list.scan(released)).toBeNull();
        if (!hit) expect(released).toBe(t);
      }),
    );
  });
});
