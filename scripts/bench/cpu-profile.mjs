/**
 * Preloaded with `--import` (through NODE_OPTIONS, where `--cpu-prof` is not allowed) by the
 * routes bench when PINSET_BENCH_CPU_PROF names a directory: profiles the whole process and
 * writes `<dir>/registry-<pid>.cpuprofile` (open it in Chrome's DevTools) when it exits.
 * A same-thread inspector session answers synchronously, so the profile is written in 'exit'.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.PINSET_BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 200 });
  session.post("Profiler.start");
  process.on("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(path.join(dir, `registry-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
