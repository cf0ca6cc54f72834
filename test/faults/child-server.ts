import 'reflect-metadata';
import { createApp } from '../../src/app';
import { type AppConfig, parseConfig } from '../../src/config';

/*
 * The real server in a process of its own, for tests that kill it (kill -9) and start it
 * again. Settings come from the environment; CHILD_TIMINGS (JSON) shortens timings the way
 * startTestApp's `timings` does. Prints {"url": ...} once listening.
 */
async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const timings = JSON.parse(process.env.CHILD_TIMINGS ?? '{}') as Partial<{ [K in keyof AppConfig['timings']]: Partial<AppConfig['timings'][K]> }>;
  for (const [group, values] of Object.entries(timings)) Object.assign(config.timings[group as keyof AppConfig['timings']], values);
  const app = await createApp(config);
  const url = await app.listen();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
