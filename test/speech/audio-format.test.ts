import { detectAudioFormat, id3TagLength, wavDurationSeconds } from '../../src/speech/audio-format';
import { adtsFile, bareMp3File, id3Tag, m4aFile, mp3File, pngFile, wavFile } from '../helpers/audio';

describe('audio format from bytes', () => {
  it.each([
    ['a WAV', wavFile(1), 'wav'],
    ['an MP3 with ID3', mp3File(), 'mp3'],
    ['an MP3 without ID3', bareMp3File(), 'mp3'],
    ['an M4A', m4aFile(), 'm4a'],
    ['an Android mp42 recording', m4aFile('mp42'), 'm4a'],
    ['raw AAC (ADTS)', Buffer.from([0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc, 0, 0]), 'aac'],
    ['a WeChat recorder AAC file', adtsFile(), 'aac'],
    ['WebM', Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0]), 'webm'],
    ['a PNG', pngFile(), undefined],
    ['an MP4 video brand we do not accept', m4aFile('qt  '), undefined],
    ['text', Buffer.from('hello world, not audio at all'), undefined],
    ['nothing', Buffer.alloc(0), undefined],
    ['0xFF noise that is not an MPEG frame', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), undefined],
  ])('%s is %s', (_label, bytes, format) => {
    expect(detectAudioFormat(bytes)).toBe(format);
  });

  it('measures an ID3v2 tag, so what follows it can be told apart', () => {
    expect(id3TagLength(id3Tag(300))).toBe(310);
    expect(id3TagLength(Buffer.concat([id3Tag(5000), adtsFile(1)]))).toBe(5010);
    expect(detectAudioFormat(Buffer.concat([id3Tag(0), adtsFile(1)]).subarray(10))).toBe('aac');
    // A footer adds 10 bytes; a size byte with its top bit set is not syncsafe.
    expect(id3TagLength(Buffer.from([0x49, 0x44, 0x33, 4, 0, 0x10, 0, 0, 0, 20]))).toBe(40);
    expect(id3TagLength(Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x80, 0]))).toBeUndefined();
    expect(id3TagLength(mp3File().subarray(0, 9))).toBeUndefined();
    expect(id3TagLength(wavFile(0.1))).toBeUndefined();
  });

  it('reads a WAV duration from its header', () => {
    expect(wavDurationSeconds(wavFile(2.5).subarray(0, 64))).toBe(2.5);
    expect(wavDurationSeconds(wavFile(1, 8000))).toBe(1);
    expect(wavDurationSeconds(mp3File())).toBeUndefined();
    expect(wavDurationSeconds(wavFile(1).subarray(0, 30))).toBeUndefined();
  });
});
