import type { FastifyInstance } from 'fastify';
import { createContext } from '../context';
import { UnauthenticatedError } from '../core/errors';
import type { AppDeps } from '../deps';
import { failure } from '../rest/envelope';
import { SpeakMessageDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { str } from '../rest/schemas';
import { parseByteRange } from './byte-range';

const nullableNumber = { type: ['number', 'null'] };

/** POST /v1/ai/text-to-speech: speakMessage. */
export const SPEAK_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/ai/text-to-speech',
    summary: "Read one of the caller's messages aloud: a signed audio URL (GET /v1/messages/{id}/speech), its type and duration",
    operation: SpeakMessageDocument,
    schema: {
      body: { type: 'object', required: ['messageId'], properties: { messageId: str, voice: str } },
      data: { type: 'object', properties: { url: str, mimeType: str, durationSeconds: nullableNumber } },
    },
    toVariables: ({ body }) => {
      const b = body as { messageId: string; voice?: string };
      return { messageId: b.messageId, voice: b.voice };
    },
    toData: (data) => data.speakMessage,
  }),
];

/** How long players may keep the audio: as long as the link that fetched it lives. */
const CACHE_CONTROL = 'private, max-age=3600';

/**
 * GET /v1/messages/:id/speech: the audio bytes of speakMessage, with range requests so players
 * can seek. Authenticated by the link's signed `token` (players cannot send headers) or, without
 * one, by the usual Authorization / X-API-Key. Not a route-table entry: it answers audio, not
 * the envelope (errors are still enveloped).
 */
export function registerSpeechAudioRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string }; Querystring: { voice?: string; token?: string } }>(
    '/v1/messages/:id/speech',
    {
      config: { rateLimited: true },
      schema: {
        summary: 'The audio of a message read aloud (speakMessage), with HTTP range requests (206, 416). Use the url speakMessage returns: its token authenticates it',
        tags: ['v1'],
        security: [{}, { bearerAuth: [] }, { apiKey: [] }],
        params: { type: 'object', required: ['id'], properties: { id: str } },
        querystring: { type: 'object', properties: { voice: str, token: str } },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const { voice, token } = req.query;
      const viewer = req.identification?.viewer ?? null;
      const { services } = createContext(deps, { viewer, requestId: req.id, ip: req.ip });
      let audio;
      if (token !== undefined) audio = await services.speak.audioByLink(token, id, voice);
      else if (viewer) audio = await services.speak.audio(viewer, id, voice);
      else throw req.identification?.authError ?? new UnauthenticatedError();

      const size = audio.bytes.length;
      const range = parseByteRange(req.headers.range, size);
      reply.header('accept-ranges', 'bytes').header('cache-control', CACHE_CONTROL).header('cross-origin-resource-policy', 'cross-origin');
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${size}`).send(failure(416, `Range not satisfiable: the audio is ${size} bytes`));
      reply.header('content-type', audio.mimeType);
      if (!range) return reply.code(200).send(audio.bytes);
      return reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .send(audio.bytes.subarray(range.start, range.end + 1));
    },
  );
}
