import { GoneError } from "../core/errors.js";

export interface RetiredPin {
  set: string;
  kind: string;
  name: string;
  version: number;
}

export function describeRetired(pins: RetiredPin[]): string {
  return pins.map((p) => `${p.kind}/${p.name}@${p.version}`).join(", ");
}

export function retiredSetError(project: string, pins: RetiredPin[]): GoneError {
  const sets = [...new Set(pins.map((p) => p.set))].join(", ");
  return new GoneError(
    `Version set ${sets} of project ${project} pins ${describeRetired(pins)}, retired by garbage collection (outside the retention settings): its files are gone`,
  );
}
