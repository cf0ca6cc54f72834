import type { Logger as PinoLogger } from 'pino';

/**
 * The logger every module takes: pino's, which is also the one fastify logs with, so
 * features log without knowing about the HTTP framework.
 */
export type Logger = PinoLogger;
