/** Resolves with undefined after `ms`, without keeping the process alive. */
export const sleep = (ms: number) =>
  new Promise<undefined>((resolve) => {
    setTimeout(() => resolve(undefined), ms).unref();
  });
