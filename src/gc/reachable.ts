import { sql, type RawBuilder } from "kysely";

/**
 * What must be kept, as SQL common table expressions (docs/operations.md explains each reason).
 * Only index versions carry bytes, so only they are ever retired; the other kinds stay whole.
 *
 * settings        per project: retention days and keep_last (defaults when no row)
 * kept_sets       sets that are active; a live rollout's stable or candidate; in an environment's
 *                 history within `days` (the set after and before each change); among the last
 *                 `keep_last` distinct sets each environment held; named by an evidence pack
 *                 written within `days`; created within the grace period (a set made to be
 *                 deployed next); an environment's fallback (degrade must always work); the
 *                 stable set of an incident that is not closed.
 * kept_versions   index versions pinned by a kept set
 * retirable       index versions not retired, not kept, older than both `days` and the grace
 */
export function reachableCtes(options: { project?: string; graceMs: number }): RawBuilder<unknown> {
  const grace = sql`(${options.graceMs}::bigint * interval '1 millisecond')`;
  const onlyProject = options.project !== undefined ? sql`where p.name = ${options.project}` : sql``;
  const window = sql`now() - make_interval(days => s.days)`;
  return sql`
settings as (
  select p.name as project, coalesce(r.days, 90) as days, coalesce(r.keep_last, 20) as keep_last
  from projects p left join retention_settings r on r.project = p.name
  ${onlyProject}
),
kept_sets as (
  select e.project, e.active as id from environments e join settings s on s.project = e.project where e.active is not null
  union select e.project, e.fallback from environments e join settings s on s.project = e.project where e.fallback is not null
  union select i.project, i.stable from incidents i join settings s on s.project = i.project where i.state <> 'closed' and i.stable is not null
  union select r.project, r.stable from rollouts r join settings s on s.project = r.project where r.state in ('running', 'paused')
  union select r.project, r.candidate from rollouts r join settings s on s.project = r.project where r.state in ('running', 'paused')
  union select h.project, h.version_set from environment_history h join settings s on s.project = h.project
    where h.version_set is not null and h.at >= ${window}
  union select h.project, h.previous from environment_history h join settings s on s.project = h.project
    where h.previous is not null and h.at >= ${window}
  union select x.project, x.version_set from (
      select h.project, h.version_set,
             row_number() over (partition by h.project, h.environment order by max(h.revision) desc) as depth
      from environment_history h join settings s on s.project = h.project
      where h.version_set is not null
      group by h.project, h.environment, h.version_set
    ) x join settings s on s.project = x.project where x.depth <= s.keep_last
  union select r.project, r.stable from evidence_packs ep join rollouts r on r.project = ep.project and r.id = ep.rollout_id
    join settings s on s.project = ep.project where ep.created_at >= ${window}
  union select r.project, r.candidate from evidence_packs ep join rollouts r on r.project = ep.project and r.id = ep.rollout_id
    join settings s on s.project = ep.project where ep.created_at >= ${window}
  union select v.project, v.id from version_sets v join settings s on s.project = v.project where v.created_at >= now() - ${grace}
),
kept_versions as (
  select distinct ks.project, c.v ->> 'name' as name, (c.v ->> 'version')::int as version
  from kept_sets ks
  join version_sets vs on vs.project = ks.project and vs.id = ks.id
  cross join lateral jsonb_each(vs.components) as c(slot, v)
  where c.v ->> 'kind' = 'index'
),
retirable as (
  select a.project, a.kind, a.name, a.version
  from artifacts a join settings s on s.project = a.project
  where a.kind = 'index' and a.retired_at is null
    and a.created_at < now() - greatest(make_interval(days => s.days), ${grace})
    and not exists (select 1 from kept_versions k where k.project = a.project and k.name = a.name and k.version = a.version)
)`;
}

/**
 * A blob row (alias `b`) whose bytes nothing keeps: claimed already (a collection that did not
 * finish), or untouched within the grace period and referenced by no artifact version that is
 * not retired (with `assumeRetired`: nor by one that `retirable` would retire — a dry run).
 */
export function deadBlobCondition(options: { graceMs: number; assumeRetired: boolean }): RawBuilder<boolean> {
  const grace = sql`(${options.graceMs}::bigint * interval '1 millisecond')`;
  const notRetirable = options.assumeRetired
    ? sql`and not exists (select 1 from retirable rt where rt.project = a.project and rt.kind = a.kind and rt.name = a.name and rt.version = a.version)`
    : sql``;
  return sql<boolean>`(b.gc_claimed_at is not null or (b.touched_at < now() - ${grace} and not exists (
    select 1 from artifact_blobs ab
    join artifacts a on a.project = ab.project and a.kind = ab.kind and a.name = ab.name and a.version = ab.version
    where ab.digest = b.digest and a.retired_at is null ${notRetirable})))`;
}
