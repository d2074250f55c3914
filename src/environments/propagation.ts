import type { Logger } from "../logger.js";
import type { ChangeFeed, ChangeFeedSubscriber } from "./change-feed.js";
import type { ResolveCache } from "./resolve-cache.js";
import type { WatchHub } from "./watch-hub.js";

export interface PropagationDeps {
  feed: ChangeFeed;
  resolveCache: ResolveCache;
  hub: WatchHub;
  environments: { databaseAvailable(): void };
  /** The rollout assignment cache (RolloutCache). */
  rollouts?: { invalidate(project: string, environment: string): void; setFeedLive(live: boolean): void };
  /** The bearer-token cache (TokenResolver.invalidate). */
  tokens?: { invalidate(): void };
  /** The open watch streams (WatchStreams): a revoked token's streams end on every instance. */
  streams?: { closeToken(tokenId: string): void; recheck(): Promise<void> };
  logger?: Logger;
}

/**
 * What this instance does with the change feed. Order is the zero-stale-read rule: the caches
 * are invalidated synchronously when the notification arrives, and only then does the hub read
 * the new state and send it to watchers. So once a watcher here has seen revision N, a resolve
 * here can no longer answer from a mapping older than N: it reads the database, which (NOTIFY
 * is delivered after commit) already holds N.
 */
export function wirePropagation(deps: PropagationDeps): () => void {
  const { feed, resolveCache, hub } = deps;
  const subscriber: ChangeFeedSubscriber = {
    onChange(change) {
      resolveCache.invalidate(change.project, change.environment);
      deps.rollouts?.invalidate(change.project, change.environment);
      hub.onChange(change);
    },
    onTokenRevoked(tokenId) {
      deps.tokens?.invalidate();
      deps.streams?.closeToken(tokenId);
    },
    onResync() {
      // Anything read while the feed was not listening may have missed a change.
      resolveCache.setFeedLive(true);
      deps.rollouts?.setFeedLive(true);
      deps.tokens?.invalidate();
      deps.environments.databaseAvailable();
      hub.onResync();
      // A revocation sent while the feed was not listening was never heard: ask the database.
      deps.streams?.recheck().catch((err: unknown) => deps.logger?.warn({ err }, "watch: could not re-check the tokens of open streams"));
    },
    onDown() {
      resolveCache.setFeedLive(false);
      deps.rollouts?.setFeedLive(false);
      hub.onDown();
    },
  };
  const unsubscribe = feed.subscribe(subscriber);
  // Started before the app was built: it is already listening and will not say so again.
  if (feed.live) subscriber.onResync!();
  return unsubscribe;
}
