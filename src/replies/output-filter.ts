/**
 * A check on what the model writes before anyone sees it or it is stored: the place where
 * output moderation plugs in. Generation passes every piece of text through the filters in
 * order; each returns the text to let through ('' holds it back). Throwing an `AppError`
 * ends the reply as FAILED with that error; what was let through before stays.
 */
export interface OutputFilter {
  pass(delta: string, passedSoFar: string): string;
}
