/** setTimeout fires at once past this (~24.8 days), so a later time is reached in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** Runs `fn` at `when` (unref'd: it never keeps the process alive); returns the cancel function. */
export function runAt(when: Date, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = when.getTime() - Date.now();
    if (left <= 0) return fn();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
