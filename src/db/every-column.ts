/** The columns of `T` that `C` leaves out (never when it names them all). */
type Missing<T, C extends readonly string[]> = Exclude<keyof T & string, C[number]>;

/**
 * A table's whole column list, checked by the compiler: leaving a column out fails to type-check,
 * naming the missing one. For statements that read whole rows by name instead of `*`
 * (prepared-statements.ts says why), so a column added to the table is added here too.
 *
 *   const SET_COLUMNS = everyColumn<VersionSetsTable>()(["seq", "project", ...]);
 */
export function everyColumn<T>() {
  return <const C extends readonly (keyof T & string)[]>(columns: C & ([Missing<T, C>] extends [never] ? unknown : { missing: Missing<T, C> })): C => columns;
}
