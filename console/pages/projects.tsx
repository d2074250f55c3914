import { allPages, api, ok } from "../api.js";
import { useLoad, useTitle } from "../hooks.js";
import { when } from "../format.js";
import { ui } from "../router.js";
import { Async, TableWrap } from "../ui.js";

export function ProjectsPage() {
  useTitle("Projects");
  const projects = useLoad(() => allPages((cursor) => ok(api.GET("/v1/projects", { params: { query: { limit: 500, ...(cursor ? { cursor } : {}) } } }))), []);
  return (
    <>
      <h1>Projects</h1>
      <Async state={projects} what="projects">
        {(items) =>
          items.length === 0 ? (
            <p>No project your token can see yet. Create one with <code>pinset project create NAME</code>.</p>
          ) : (
            <TableWrap label="Projects">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Project</th>
                    <th scope="col">Description</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((p) => (
                    <tr key={p.name}>
                      <td>
                        <a href={ui("projects", p.name)}>{p.name}</a>
                      </td>
                      <td>{p.description ?? ""}</td>
                      <td>{when(p.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )
        }
      </Async>
    </>
  );
}
