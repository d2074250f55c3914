import { listOption, type OptionValues } from "./command.js";

/** A repeatable option whose values may also be comma-separated: `--scope publish,deploy --scope read`. */
export function commaList(values: OptionValues, name: string): string[] {
  return listOption(values, name)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}
