import { estimateTokens } from '../../models/context-window';
import { ProviderError } from '../../models/provider-errors';
import type { ChatProvider, ProviderCall, StreamPiece } from './provider';

/** The built-in model: streams the user's own words back, word by word, with no network. */
export class EchoProvider implements ChatProvider {
  async *stream({ turns, signal }: ProviderCall): AsyncIterable<StreamPiece> {
    const last = [...turns].reverse().find((t) => t.role === 'user')?.content ?? '';
    const pieces = last.match(/\s*\S+/gu) ?? [];
    for (const piece of pieces) {
      await new Promise((resolve) => setImmediate(resolve));
      if (signal.aborted) throw new ProviderError('The AI reply was aborted', 'ABORTED');
      yield { delta: piece };
    }
    const promptTokens = turns.reduce((n, t) => n + estimateTokens(t.content), 0);
    const completionTokens = estimateTokens(last);
    yield { usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }, finish: 'stop' };
  }
}
