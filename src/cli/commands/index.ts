import type { CommandSpec } from "../command.js";
import { diff } from "./diff.js";
import { envCreate, envShow, envUnfreeze } from "./env.js";
import { deploy, history, resolve, rollback } from "./environment.js";
import { projectCreate } from "./project.js";
import { publish } from "./publish.js";
import { rolloutAbort, rolloutAdvance, rolloutDecision, rolloutEvidence, rolloutPause, rolloutResume, rolloutStart, rolloutStatus } from "./rollout.js";
import { setCreate, setShow } from "./set.js";

/** Every command, in the order `pinset --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  projectCreate,
  envCreate,
  envShow,
  envUnfreeze,
  publish,
  setCreate,
  setShow,
  deploy,
  rollback,
  history,
  resolve,
  diff,
  rolloutStart,
  rolloutStatus,
  rolloutDecision,
  rolloutAdvance,
  rolloutPause,
  rolloutResume,
  rolloutAbort,
  rolloutEvidence,
];
