// autocannon's per-request hook for scripts/bench-resolve-subject.ts. In worker mode autocannon
// takes hooks as files it can require, so this one lives beside the script: a new subject per
// request, so that every answer runs the assignment hash for a subject not seen before.
let n = 0;
module.exports = function setupRequest(request) {
  n += 1;
  return { ...request, path: `${request.path.split("?")[0]}?subject=u-${n}` };
};
