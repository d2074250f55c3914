import pg from "pg";
import { nowMs, summarize, type Summary } from "./stats.js";

/**
 * The floor under cross-instance propagation: a bare `NOTIFY` from one Postgres client to
 * another that `LISTEN`s, on the bench's database, timed the same way as a deploy's event.
 */
export async function benchNotifyFloor(databaseUrl: string, samples: number): Promise<Summary> {
  const listener = new pg.Client({ connectionString: databaseUrl });
  const notifier = new pg.Client({ connectionString: databaseUrl });
  await Promise.all([listener.connect(), notifier.connect()]);
  try {
    await listener.query("LISTEN pinset_bench_floor");
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const arrived = new Promise<number>((resolve) => listener.once("notification", () => resolve(nowMs())));
      const sent = nowMs();
      await notifier.query(`NOTIFY pinset_bench_floor, '${i}'`);
      latencies.push((await arrived) - sent);
    }
    return summarize(latencies);
  } finally {
    await Promise.all([listener.end(), notifier.end()]);
  }
}
