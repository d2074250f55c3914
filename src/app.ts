import express, { Router } from "express";
import { sql, type Kysely } from "kysely";
import { AnalysisLoop } from "./analysis/loop.js";
import { rolloutGaugeSource } from "./analysis/rollout-gauges-source.js";
import { registerRolloutMetrics } from "./analysis/rollout-metrics.js";
import { analysisRoutes } from "./analysis/routes.js";
import { AnalysisService, type AnalysisServiceDeps } from "./analysis/service.js";
import { KyselyAnalysisStore } from "./analysis/store.js";
import { ArtifactCatalog } from "./artifacts/catalog.js";
import { artifactRoutes } from "./artifacts/routes.js";
import { ArtifactService } from "./artifacts/service.js";
import { KyselyArtifactStore } from "./artifacts/store.js";
import { auditRoutes } from "./audit/routes.js";
import { AuditService } from "./audit/service.js";
import { KyselyAuditStore } from "./audit/store.js";
import { tokenRoutes } from "./auth/routes.js";
import { TokenService } from "./auth/service.js";
import { TokenResolver } from "./auth/token-resolver.js";
import { KyselyTokenStore } from "./auth/token-store.js";
import { blobRoutes } from "./blobs/routes.js";
import { combineBackground } from "./background.js";
import type { ConsoleBundle } from "./console/bundle.js";
import { consoleRouter } from "./console/routes.js";
import { KyselyBlobLinkStore } from "./blobs/link-store.js";
import { BlobService } from "./blobs/service.js";
import type { BlobStore } from "./blobs/ports.js";
import { UploadSweeper, type UploadSweeperOptions } from "./blobs/upload-sweeper.js";
import { DEFAULT_STALE_AFTER_MS, type Config } from "./config.js";
import type { AnswerWatch } from "./db/answer-watch.js";
import { registerDatabaseMetrics } from "./db/metrics.js";
import type { Database } from "./db/schema.js";
import { KyselyTransactions } from "./db/transactions.js";
import { DEFAULT_DATABASE_BUDGETS } from "./db/budgets.js";
import type { ChangeFeed } from "./environments/change-feed.js";
import { wirePropagation } from "./environments/propagation.js";
import { EnvironmentChanger } from "./environments/change.js";
import { environmentRoutes } from "./environments/routes.js";
import { ResolveCache } from "./environments/resolve-cache.js";
import { EnvironmentService } from "./environments/service.js";
import { KyselyEnvironmentStore } from "./environments/store.js";
import { registerWatchMetrics } from "./environments/watch.js";
import { WatchHub, type WatchHubOptions } from "./environments/watch-hub.js";
import { openFilesLimit } from "./environments/open-files.js";
import { registerWatchLimitMetrics, watchCapacity, WatchStreams } from "./environments/watch-streams.js";
import { authenticate } from "./http/auth.js";
import { fastLane } from "./http/fast-lane.js";
import { sendJson } from "./http/json-response.js";
import { createMetrics, type Metrics } from "./http/metrics.js";
import { notFoundHandler, problemHandler } from "./http/problem.js";
import { createRateLimit } from "./http/rate-limit.js";
import { requestContext, requestStart } from "./http/request-context.js";
import { mountRoutes, type RouteSpec } from "./http/routes.js";
import { serviceRouter } from "./http/service-routes.js";
import { traceIdGenerator } from "./http/trace-id.js";
import type { Logger } from "./logger.js";
import type { GcHook } from "./gc/collector.js";
import { registerGcMetrics } from "./gc/metrics.js";
import { gcRoutes } from "./gc/routes.js";
import { GcSchedule } from "./gc/schedule.js";
import { GcService } from "./gc/service.js";
import { KyselyCollectionStore } from "./gc/collection-store.js";
import { KyselyGcStore } from "./gc/store.js";
import type { GcOptions } from "./gc/settings.js";
import { projectRoutes } from "./projects/routes.js";
import { registerSchemaMetrics } from "./schemas/metrics.js";
import { SchemaWorkers } from "./schemas/schema-workers.js";
import { ProjectService } from "./projects/service.js";
import { KyselyProjectStore } from "./projects/store.js";
import { incidentRoutes } from "./incidents/routes.js";
import { IncidentService } from "./incidents/service.js";
import { KyselyIncidentStore } from "./incidents/store.js";
import { rolloutRoutes } from "./rollouts/routes.js";
import { composeRollouts } from "./rollouts/compose.js";
import { RolloutCache } from "./rollouts/rollout-cache.js";
import { kyselyRolloutStores } from "./rollouts/store.js";
import { versionSetRoutes } from "./version-sets/routes.js";
import { VersionSetService } from "./version-sets/service.js";
import { KyselyVersionSetStore } from "./version-sets/store.js";
import { DeliveryWorker, type DeliveryWorkerOptions } from "./webhooks/delivery-worker.js";
import { KyselyDeliveryQueue } from "./webhooks/delivery-store.js";
import { webhookRoutes } from "./webhooks/routes.js";
import { httpSender } from "./webhooks/send.js";
import { WebhookService } from "./webhooks/service.js";
import { KyselyWebhookStore } from "./webhooks/store.js";

export interface AppDeps {
  db: Kysely<Database>;
  blobStore: BlobStore;
  logger: Logger;
  /**
   * `rateLimit` and `watchLimits` may be left out (tests): no rate limiting and no per-token or
   * per-address watch caps then. `http` left out: the default body time-outs; `schemas`: the
   * default limits; `webhooks`: private webhook targets refused.
   */
  config: Pick<Config, "limits"> & Partial<Pick<Config, "rateLimit" | "database" | "readyzTimeoutMs" | "analysisTickMs" | "watchLimits" | "http" | "schemas" | "webhooks" | "gc">>;
  /** The budgeted pool's view of whether the database answers (server mode): for /metrics. */
  databaseAnswers?: AnswerWatch;
  metrics?: Metrics;
  /** Webhook delivery tuning (tests shorten the retry schedule); production uses the defaults. */
  webhookDelivery?: Partial<DeliveryWorkerOptions>;
  /**
   * The cross-instance change feed (built from the DatabaseHandle by main.ts and the test
   * support; started and stopped by them). Without one, resolve trusts its cache for 1 s only
   * and watch streams get no change events.
   */
  changeFeed?: ChangeFeed;
  /**
   * Garbage collection: `db` for its statements (main.ts gives a handle without the request-path
   * time budgets on Postgres); `options`/`hook` are for tests (grace, lease, batch size, steps).
   */
  gc?: { db?: Kysely<Database>; options?: Partial<GcOptions>; hook?: GcHook };
  /** Abandoned-upload sweeping (tests move the clock); production sweeps at start and hourly. */
  uploadSweep?: Partial<UploadSweeperOptions>;
  /**
   * The Prometheus analysis loop: `tickMs` (default 5 s) between passes; tests may hand in a
   * `fetch` and a clock.
   */
  analysis?: { tickMs?: number } & Partial<Pick<AnalysisServiceDeps, "fetch" | "now">>;
  /** Watch tuning (tests shorten the heartbeat); production uses the defaults. */
  /**
   * The web console's built files (console/bundle.ts), served at `/` and `/ui/…`; "missing":
   * those pages say how to build it. Left out (most tests): no console routes at all.
   */
  console?: ConsoleBundle | "missing";
  watch?: Partial<Pick<WatchHubOptions, "heartbeatMs" | "maxBufferedBytes" | "replayLimit" | "recentSize">> & {
    /** Most streams on this instance; default: derived from the open-file limit (watchCapacity). */
    maxTotal?: number;
  };
}

/**
 * Builds the whole HTTP application from its dependencies. Nothing here reads the environment
 * or starts I/O, so tests build as many apps as they like.
 */
export function createApp(deps: AppDeps) {
  const { db, blobStore, logger } = deps;
  const metrics = deps.metrics ?? createMetrics();
  if (deps.databaseAnswers) registerDatabaseMetrics(metrics.registry, deps.databaseAnswers);
  // How long resolve, watch and a known token wait for the database before answering from memory.
  const staleAfterMs = deps.config.database?.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;

  const transactions = new KyselyTransactions(db);
  const auditStore = new KyselyAuditStore(db);
  // The outbox port: every domain that announces a change writes its rows in its own transaction.
  const webhookStore = new KyselyWebhookStore(db);
  const projects = new ProjectService({ store: new KyselyProjectStore(db), audit: auditStore, transactions });
  const outbox = webhookStore;
  const artifactStore = new KyselyArtifactStore(db);
  const blobs = new BlobService({
    store: blobStore,
    links: new KyselyBlobLinkStore(db),
    projects,
    audit: auditStore,
    transactions,
    retired: artifactStore,
    maxBlobBytes: deps.config.limits.maxBlobBytes,
    onBytesIn: (n) => metrics.blobBytesIn.inc(n),
  });
  const onSchemaJob = registerSchemaMetrics(metrics.registry, () => schemas.stats());
  const schemas = new SchemaWorkers(deps.config.schemas ?? {}, logger, onSchemaJob);
  const artifacts = new ArtifactService({
    store: artifactStore,
    projects,
    blobs: new KyselyBlobLinkStore(db),
    audit: auditStore,
    outbox,
    transactions,
    schemas,
    writeBudgetMs: deps.config.database?.writeMs ?? DEFAULT_DATABASE_BUDGETS.writeMs,
    reviveBlobs: (d) => blobs.revive(d),
  });
  const versionSets = new VersionSetService({
    store: new KyselyVersionSetStore(db),
    artifacts: artifactStore,
    projects,
    audit: auditStore,
    outbox,
    transactions,
    differ: schemas.diff,
  });
  // Shared: a rollout step (e.g. promote) changes what the environments' resolve cache holds.
  const resolveCache = new ResolveCache();
  const environmentStore = new KyselyEnvironmentStore(db);
  const environmentChanges = new EnvironmentChanger({
    store: environmentStore,
    sets: versionSets,
    events: webhookStore,
  });
  const rolloutStores = kyselyRolloutStores(db);
  const rolloutCache = new RolloutCache();
  const { rollouts, gates, scheduleLoop: makeScheduleLoop } = composeRollouts({
    transactions,
    stores: rolloutStores,
    environments: environmentStore,
    changes: environmentChanges,
    projects,
    audit: auditStore,
    events: webhookStore,
    versionSets: {
      exists: (tx, project, id) => versionSets.versionSetExists(tx, project, id),
      get: (project, id) => versionSets.get(project, id),
      diff: (project, from, to) => versionSets.diff(project, from, to),
    },
    blobStore,
    resolveCache,
    logger,
    cache: rolloutCache,
    // Incidents are built below; these run only once requests arrive.
    incidents: {
      onRolloutAborted: (tx, actor, key, info) => incidents.onRolloutAborted(tx, actor, key, info),
      guard: (tx, actor, key, change) => incidents.guard(tx, actor, key, change),
      ofRollout: (project, rollout) => incidents.ofRollout(project, rollout),
    },
  });
  const environments = new EnvironmentService({
    store: environmentStore,
    changes: environmentChanges,
    transactions,
    audit: auditStore,
    projects,
    versionSets,
    pastRollouts: { fixedOf: (project, ids) => rolloutStores.rollouts.findMany(project, ids) },
    resolveCache,
    rollouts,
    staleAfterMs,
  });
  // Incidents hook into the steps that open, mitigate or are refused by them (in their transactions).
  const incidents = new IncidentService({
    store: new KyselyIncidentStore(db),
    projects,
    // What incidents read of environments and rollouts, through the owners' stores.
    environments: { lockActive: (tx, key) => environmentStore.lockEnvironment(tx, key) },
    rollouts: {
      liveRollout: (tx, key) => rolloutStores.rollouts.live(key, tx),
      candidateTraceIds: (tx, project, rollout) => rolloutStores.observations.candidateTraceIds(project, rollout, tx),
      evidenceOf: (project, rollout) => rolloutStores.evidence.ofRollout(project, rollout),
    },
    artifacts: artifactStore,
    audit: auditStore,
    outbox,
    transactions,
  });
  environments.incidents = {
    guard: (tx, actor, key, change) => incidents.guard(tx, actor, key, change),
    onRolledBack: (tx, actor, key, applied) => incidents.onRolledBack(tx, actor, key, applied),
    onDegraded: (tx, actor, key, change) => incidents.onDegraded(tx, actor, key, change),
  };
  const tokenStore = new KyselyTokenStore(db);
  const tokens = new TokenResolver(tokenStore, { staleAfterMs });
  const watchLimits = deps.config.watchLimits ?? { perToken: 0, perAddress: 0 };
  const watchStreams = new WatchStreams({
    ...watchLimits,
    total: deps.watch?.maxTotal ?? watchCapacity(openFilesLimit()),
    unusable: (ids) => tokenStore.unusable(ids),
  });
  const tokenService = new TokenService({ store: tokenStore, audit: auditStore, transactions, resolver: tokens, onRevoked: (id) => watchStreams.closeToken(id) });
  const audit = new AuditService(auditStore);
  const feed = deps.changeFeed;
  const { maxTotal: _maxTotal, ...hubTuning } = deps.watch ?? {};
  const watchHub = new WatchHub({ source: environments, feedLive: () => feed?.live ?? false, logger, staleAfterMs, ...hubTuning });
  registerWatchMetrics(metrics.registry, watchHub);
  registerWatchLimitMetrics(metrics.registry, watchStreams);
  if (feed) wirePropagation({ feed, resolveCache, hub: watchHub, environments, rollouts: rolloutCache, tokens, streams: watchStreams, logger });
  const allowPrivateWebhooks = deps.config.webhooks?.allowPrivate ?? false;
  const webhooks = new WebhookService({ store: webhookStore, audit: auditStore, transactions, projects, allowPrivate: allowPrivateWebhooks });
  const deliveryWorker = new DeliveryWorker(new KyselyDeliveryQueue(db), {
    logger,
    send: httpSender({ allowPrivate: allowPrivateWebhooks }),
    ...(deps.webhookDelivery ? { options: deps.webhookDelivery } : {}),
  });
  // The collection's statements (and pinset_blob_store_bytes, which sums every blob link) run on the gc handle, without the request-path budgets.
  const gcDb = deps.gc?.db ?? db;
  const collectionStore = new KyselyCollectionStore(gcDb);
  const gc: GcService = new GcService({
    store: new KyselyGcStore(db),
    projects,
    audit: auditStore,
    transactions,
    collection: { store: collectionStore, transactions: new KyselyTransactions(gcDb), webhooks: new KyselyWebhookStore(gcDb) },
    blobStore,
    logger,
    options: { ...(deps.config.gc ? { webhookRetentionDays: deps.config.gc.webhookRetentionDays } : {}), ...deps.gc?.options },
    metrics: registerGcMetrics(metrics.registry, () => collectionStore.bytesByProject()),
    ...(deps.gc?.hook ? { hook: deps.gc.hook } : {}),
    onRetired: () => versionSets.forgetBundles(),
  });
  const rateLimit = createRateLimit(deps.config.rateLimit ?? { rps: 0, burst: 0 });
  const traceIds = traceIdGenerator();
  const rolloutMetrics = registerRolloutMetrics(metrics.registry, {
    source: rolloutGaugeSource({ rollouts, decision: (key) => rollouts.decision(key) }),
    onError: (err) => logger.warn({ err }, "rollout gauges could not be read for this scrape"),
  });
  const { tickMs, ...analysisTuning } = deps.analysis ?? {};
  const analysisTickMs = tickMs ?? deps.config.analysisTickMs;
  const analysis = new AnalysisService({ store: new KyselyAnalysisStore(db), rollouts, gates, audit: auditStore, logger, metrics: rolloutMetrics, newTraceId: traceIds, ...analysisTuning });
  const analysisLoop = new AnalysisLoop(analysis, { logger, ...(analysisTickMs !== undefined ? { tickMs: analysisTickMs } : {}) });

  const routes: RouteSpec[] = [];
  const bodies = {
    ...deps.config.limits,
    ...(deps.config.http ? { idleTimeoutMs: deps.config.http.bodyIdleTimeoutMs, jsonTimeoutMs: deps.config.http.jsonBodyTimeoutMs } : {}),
  };
  const guard = [authenticate(tokens, { beforeRefusal: rateLimit.chargeAnonymous }), rateLimit.byPrincipal];
  const v1 = Router();
  v1.use(...guard);
  mountRoutes(v1, projectRoutes(projects), routes, bodies);
  mountRoutes(v1, blobRoutes({ blobs, onBytesOut: (n) => metrics.blobBytesOut.inc(n) }), routes, bodies);
  mountRoutes(v1, artifactRoutes({ artifacts, catalog: new ArtifactCatalog({ store: artifactStore, projects }) }), routes, bodies);
  mountRoutes(v1, tokenRoutes(tokenService), routes, bodies);
  mountRoutes(v1, auditRoutes({ audit, projects }), routes, bodies);
  mountRoutes(v1, versionSetRoutes({ versionSets }), routes, bodies);
  mountRoutes(v1, environmentRoutes({ environments, watchHub, watchStreams }), routes, bodies);
  mountRoutes(v1, rolloutRoutes({ rollouts, gates, environments }), routes, bodies);
  mountRoutes(v1, gcRoutes({ gc }), routes, bodies);
  mountRoutes(v1, webhookRoutes({ webhooks }), routes, bodies);
  mountRoutes(v1, analysisRoutes({ analysis }), routes, bodies);
  mountRoutes(v1, incidentRoutes({ incidents, environments }), routes, bodies);

  const recorder = metrics.http;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // Every route's res.json: one encoding, one write (json-response.ts).
  app.response.json = sendJson as typeof app.response.json;
  const start = requestStart({ logger, recorder, traceIds });
  app.use(requestContext(start));
  app.use(
    serviceRouter({
      metrics,
      tokens,
      ...(deps.config.readyzTimeoutMs !== undefined ? { readyzTimeoutMs: deps.config.readyzTimeoutMs } : {}),
      readiness: [
        { name: "database", check: async () => void (await sql`select 1`.execute(db)) },
        { name: "blob_store", check: () => blobStore.check() },
      ],
    }),
  );
  app.use("/v1", v1);
  if (deps.console) app.use(consoleRouter(deps.console === "missing" ? undefined : deps.console));
  app.use(notFoundHandler);
  app.use(problemHandler);

  // What the HTTP server runs: resolve's answers from memory and the direct reads ahead of express, the rest in express.
  const direct = { start, fail: (err: unknown, req: express.Request, res: express.Response) => problemHandler(err, req, res, () => undefined), prototypes: { request: app.request, response: app.response } };
  const listener = fastLane({ prefix: "/v1", specs: routes, tokens, rateLimit, recorder, logger, traceIds, direct }, app);

  // Idle until started: main.ts starts it after listening; tests start it when they need it.
  const uploadSweeper = new UploadSweeper(blobStore, { logger, ...(deps.uploadSweep ? { options: deps.uploadSweep } : {}) });
  const scheduleLoop = makeScheduleLoop({ logger, ...(deps.config.analysisTickMs !== undefined ? { options: { tickMs: deps.config.analysisTickMs } } : {}) });
  const gcSchedule = new GcSchedule(gc, { intervalMs: deps.config.gc?.intervalMs ?? 0, logger });
  const background = combineBackground([deliveryWorker, schemas, uploadSweeper, scheduleLoop, analysisLoop, gcSchedule]);

  return { app, listener, routes, metrics, background, services: { projects, blobs, environmentStore, environmentChanges, artifacts, schemas, uploadSweeper, versionSets, environments, watchHub, watchStreams, rollouts, rolloutStores, gates, tokens, tokenService, audit, rateLimit, webhooks, deliveryWorker, scheduleLoop, analysis, analysisLoop, rolloutMetrics, gc, gcSchedule } };
}

export type PinsetApp = ReturnType<typeof createApp>;
