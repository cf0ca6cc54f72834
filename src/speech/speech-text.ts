/** The most characters an OpenAI-compatible `/audio/speech` request takes as `input`. */
export const SPEECH_INPUT_LIMIT = 4096;

/** A sentence: up to and including its end mark(s) and any closing quotes, or a line. */
const SENTENCE = /[^。！？.!?\n]*(?:[。！？.!?]+[”’"')）」』]*|\n+)|[^。！？.!?\n]+$/g;

/** Cuts a sentence longer than `max`, at a comma or space when there is one in the second half. */
function cutLong(sentence: string, max: number): string[] {
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > max) {
    let at = Math.max(rest.lastIndexOf('，', max - 1), rest.lastIndexOf(',', max - 1), rest.lastIndexOf(' ', max - 1)) + 1;
    if (at < max / 2) at = max;
    // Never between the two halves of a surrogate pair (an emoji).
    const code = rest.charCodeAt(at - 1);
    if (code >= 0xd800 && code <= 0xdbff) at -= 1;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  return rest ? [...parts, rest] : parts;
}

/**
 * The text in parts of at most `max` UTF-16 units (never fewer characters than the provider
 * counts), each ending at a sentence end (。！？.!? or a line break) when one fits, so no part
 * stops mid-sentence and the joined audio sounds as one. Blank parts are dropped.
 */
export function splitForSpeech(text: string, max = SPEECH_INPUT_LIMIT): string[] {
  const sentences = (text.match(SENTENCE) ?? []).flatMap((s) => cutLong(s, max));
  const parts: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    if (current.length + sentence.length > max) {
      parts.push(current);
      current = '';
    }
    current += sentence;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}
