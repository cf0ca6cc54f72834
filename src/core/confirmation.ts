import { BadRequestError } from './errors';

/**
 * Irreversible operations take a phrase the caller must send word for word, so a stray or
 * replayed call (a misbound button, a retried request body) does nothing.
 */
export function checkConfirmation(given: string, phrase: string): void {
  if (given !== phrase) throw new BadRequestError(`confirm must be exactly "${phrase}"`, { field: 'confirm', reason: 'CONFIRMATION_REQUIRED' });
}
