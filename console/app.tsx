import type { ComponentChildren, JSX } from "preact";
import { useEffect } from "preact/hooks";
import { api, ok } from "./api.js";
import icon from "./favicon.svg";
import { useLoad } from "./hooks.js";
import { ArtifactsPage } from "./pages/artifacts.js";
import { ArtifactComparePage, ArtifactVersionPage } from "./pages/artifact-version.js";
import { AuditPage } from "./pages/audit.js";
import { DiffPage } from "./pages/diff.js";
import { EnvironmentPage } from "./pages/environment.js";
import { EvidencePage } from "./pages/evidence.js";
import { ProjectPage } from "./pages/project.js";
import { ProjectsPage } from "./pages/projects.js";
import { RolloutPage } from "./pages/rollout.js";
import { SignIn } from "./pages/sign-in.js";
import { VersionSetPage, VersionSetsPage } from "./pages/version-sets.js";
import { match, ui, useLocation } from "./router.js";
import { SelfContext } from "./self.js";
import { session, useSignedIn } from "./session.js";
import { ProblemView } from "./ui.js";

type Page = (props: { params: Record<string, string>; query: URLSearchParams }) => JSX.Element;

/** Every page and its URL; `/` is the projects page too. */
const ROUTES: Array<[string, Page]> = [
  ["/", ProjectsPage],
  ["/ui/projects", ProjectsPage],
  ["/ui/projects/:project", ProjectPage],
  ["/ui/projects/:project/environments/:env", EnvironmentPage],
  ["/ui/projects/:project/environments/:env/rollout", RolloutPage],
  ["/ui/projects/:project/evidence/:id", EvidencePage],
  ["/ui/projects/:project/version-sets", VersionSetsPage],
  ["/ui/projects/:project/version-sets/:id", VersionSetPage],
  ["/ui/projects/:project/diff", DiffPage],
  ["/ui/projects/:project/artifacts", ArtifactsPage],
  ["/ui/projects/:project/artifacts/:kind", ArtifactsPage],
  ["/ui/projects/:project/artifacts/:kind/:name", ArtifactsPage],
  ["/ui/projects/:project/artifacts/:kind/:name/versions/:version", ArtifactVersionPage],
  ["/ui/projects/:project/artifacts/:kind/:name/compare", ArtifactComparePage],
  ["/ui/projects/:project/audit", AuditPage],
];

export function App() {
  const signedIn = useSignedIn();
  const loc = useLocation();
  if (!signedIn) return <SignIn />;
  return <SignedIn path={loc.path} query={loc.query} />;
}

function SignedIn({ path, query }: { path: string; query: URLSearchParams }) {
  const self = useLoad(() => ok(api.GET("/v1/tokens/self")), []);
  // A token with an expiry ends the session when it expires, even on an idle page.
  useEffect(() => {
    const expires = self.data?.expires_at ? Date.parse(self.data.expires_at) : undefined;
    if (expires === undefined) return;
    const timer = setTimeout(() => session.end("Your session ended: the token expired. Sign in again to continue on this page."), Math.max(0, expires - Date.now()) + 250);
    return () => clearTimeout(timer);
  }, [self.data?.expires_at]);
  let page: JSX.Element | undefined;
  let project: string | undefined;
  for (const [pattern, Component] of ROUTES) {
    const params = match(pattern, path);
    if (params) {
      project = params.project;
      page = <Component key={path + "?" + query.toString()} params={params} query={query} />;
      break;
    }
  }
  return (
    <Shell project={project} who={self.data ? `${self.data.name} (${self.data.scopes.join(", ")})` : undefined}>
      {self.error ? (
        <ProblemView error={self.error} />
      ) : !self.data ? (
        <p class="muted">Checking your token…</p>
      ) : (
        <SelfContext.Provider value={self.data}>{page ?? <NotFound path={path} />}</SelfContext.Provider>
      )}
    </Shell>
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        Nothing in the console lives at <code>{path}</code>. <a href={ui("projects")}>All projects</a>
      </p>
    </>
  );
}

function Shell({ project, who, children }: { project: string | undefined; who: string | undefined; children: ComponentChildren }) {
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          <img src={icon} alt="" width={20} height={20} /> Pinset
        </a>
        <nav aria-label="Main">
          <ul>
            <li>
              <a href={ui("projects")}>Projects</a>
            </li>
            {project && (
              <>
                <li>
                  <a href={ui("projects", project)}>Overview</a>
                </li>
                <li>
                  <a href={ui("projects", project, "version-sets")}>Version sets</a>
                </li>
                <li>
                  <a href={ui("projects", project, "artifacts")}>Artifacts</a>
                </li>
                <li>
                  <a href={ui("projects", project, "audit")}>Audit</a>
                </li>
              </>
            )}
          </ul>
        </nav>
        <div class="who">
          {who && <span class="muted small">Signed in as {who}</span>}
          <button type="button" class="secondary" onClick={() => session.end()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
