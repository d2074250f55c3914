import { parse } from "node:querystring";
import { describe, expect, it } from "vitest";
import { diffPairOnly } from "../../src/version-sets/diff-query.js";

const A = "vs_0123456789abcdef01234567";
const B = "vs_89abcdef0123456789abcdef";

describe("diffPairOnly", () => {
  it.each([`from=${A}&to=${B}`, `to=${B}&from=${A}`])("reads %s as the router's parser does", (query) => {
    expect(diffPairOnly(query)).toEqual({ from: A, to: B });
    expect(parse(query)).toEqual({ from: A, to: B });
  });

  it.each([
    ["one parameter", `from=${A}`],
    ["a parameter more", `from=${A}&to=${B}&x=1`],
    ["a repeated parameter", `from=${A}&from=${B}`],
    ["a trailing &", `from=${A}&to=${B}&`],
    ["an encoded character", `from=${A}&to=vs_89abcdef0123456789abcde%66`],
    ["an id of another shape", `from=${A}&to=VS_89ABCDEF0123456789ABCDEF`],
    ["an empty value", `from=${A}&to=`],
    ["another name", `from=${A}&To=${B}`],
    ["nothing", ""],
  ])("leaves %s to the handlers", (_name, query) => {
    expect(diffPairOnly(query)).toBeUndefined();
  });
});
