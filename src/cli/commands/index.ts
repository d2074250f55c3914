import type { CommandSpec } from "../command.js";
import { audit } from "./audit.js";
import { diff } from "./diff.js";
import { envCreate, envFreeze, envShow, envUnfreeze } from "./env.js";
import { deploy, history, resolve, rollback } from "./environment.js";
import { evidenceGet } from "./evidence.js";
import { gc } from "./gc.js";
import { gatePolicyGet, gatePolicySet } from "./gate-policy.js";
import { degrade, incidentClose, incidentLs, incidentNote, incidentOpen, incidentShow, runbook } from "./incident.js";
import { lsArtifacts, lsEnvs, lsProjects, lsSets } from "./ls.js";
import { observe } from "./observe.js";
import { projectCreate } from "./project.js";
import { publish } from "./publish.js";
import { rolloutAbort, rolloutAdvance, rolloutDecision, rolloutEvidence, rolloutPause, rolloutResume, rolloutStart, rolloutStatus } from "./rollout.js";
import { setCreate, setShow } from "./set.js";
import { tokenCreate, tokenLs, tokenRevoke } from "./token.js";
import { webhookAdd, webhookDeliveries, webhookLs, webhookRm } from "./webhook.js";

/** Every command, in the order `pinset --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  projectCreate,
  envCreate,
  envShow,
  envFreeze,
  envUnfreeze,
  lsProjects,
  lsEnvs,
  lsSets,
  lsArtifacts,
  publish,
  setCreate,
  setShow,
  deploy,
  rollback,
  degrade,
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
  observe,
  gatePolicyGet,
  gatePolicySet,
  evidenceGet,
  runbook,
  incidentLs,
  incidentShow,
  incidentOpen,
  incidentNote,
  incidentClose,
  audit,
  tokenCreate,
  tokenLs,
  tokenRevoke,
  webhookAdd,
  webhookLs,
  webhookRm,
  webhookDeliveries,
  gc,
];
