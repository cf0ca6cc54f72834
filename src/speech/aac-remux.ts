import { ADTS, Conversion, FilePathSource, FilePathTarget, Input, Mp4OutputFormat, Output } from 'mediabunny';
import { BadRequestError } from '../core/errors';
import { ACCEPTED_AUDIO } from './audio-format';

/**
 * Moves raw ADTS AAC (the WeChat mini-program recorder's `aac`) into an MP4 container (m4a),
 * which OpenAI-compatible providers accept; they refuse a bare `.aac`. The AAC frames are
 * copied as they are (no re-encoding, so no codec is needed). Both files stay on disk: the
 * input is read in pieces and the output written with its index (`moov`) at the end, so a
 * large upload is never held whole in memory.
 *
 * Returns the duration the frames add up to. Throws BAD_REQUEST / UNSUPPORTED_AUDIO_FORMAT
 * when the bytes are not readable ADTS after all.
 */
export async function remuxAdtsToM4a(from: string, to: string): Promise<{ durationSeconds: number }> {
  const input = new Input({ source: new FilePathSource(from), formats: [ADTS] });
  const output = new Output({ format: new Mp4OutputFormat({ fastStart: false }), target: new FilePathTarget(to) });
  try {
    const conversion = await Conversion.init({ input, output, showWarnings: false });
    if (!conversion.isValid || conversion.utilizedTracks.length === 0) throw new Error('no AAC track to copy');
    await conversion.execute();
    const durationSeconds = await input.computeDuration();
    if (!(durationSeconds > 0)) throw new Error('no AAC frames');
    return { durationSeconds };
  } catch {
    // Closes the output file if it was opened; the caller removes the folder.
    await output.cancel().catch(() => undefined);
    throw new BadRequestError(`The AAC audio could not be read; send ${ACCEPTED_AUDIO}`, { field: 'audio', reason: 'UNSUPPORTED_AUDIO_FORMAT' });
  } finally {
    input.dispose();
  }
}
