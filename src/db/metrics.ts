import { Counter, Gauge, type Registry } from "prom-client";
import type { AnswerWatch } from "./answer-watch.js";
import type { TimeoutPhase } from "./budgets.js";

const PHASES: TimeoutPhase[] = ["acquire", "statement", "not_answering"];

/** `pinset_db_timeouts_total{phase}` and `pinset_db_answering`, read from the budgeted pool's watch. */
export function registerDatabaseMetrics(registry: Registry, watch: AnswerWatch): void {
  const reported: Record<TimeoutPhase, number> = { acquire: 0, statement: 0, not_answering: 0 };
  new Counter({
    name: "pinset_db_timeouts_total",
    help: "Database work given up on its time budget: acquire (no connection in time), statement (no answer in time; the connection was discarded), not_answering (refused at once while the database answers nothing)",
    labelNames: ["phase"],
    registers: [registry],
    collect() {
      for (const phase of PHASES) {
        this.inc({ phase }, watch.timeouts[phase] - reported[phase]);
        reported[phase] = watch.timeouts[phase];
      }
    },
  });
  new Gauge({
    name: "pinset_db_answering",
    help: "1 while the database answers; 0 from a time-out with nothing answered since, until the next answer",
    registers: [registry],
    collect() {
      this.set(watch.answering ? 1 : 0);
    },
  });
}
