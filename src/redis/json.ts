/** An ISO-8601 time as JSON.stringify writes a Date. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * JSON.parse for what this app put in Redis: times (properties named `…At`, such as a done
 * event's `message.createdAt`) come back as Dates, as they were in the process that wrote
 * them, so code reading an event or a record never sees a Date on one instance and a string
 * on another. Only those keys are revived: user text is never mistaken for a time.
 */
export function parseShared(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (typeof value === 'string' && key.endsWith('At') && ISO_TIME.test(value) ? new Date(value) : value));
}
