/**
 * A column of values for one statement parameter, as one JSON array, unpacked in SQL by
 * `json_array_elements_text` (`jsonElements`) and zipped with its neighbours by position in
 * `ROWS FROM`. Not an array literal: `pg` builds one in JavaScript, escaping every element with a
 * regular expression and concatenating, where JSON.stringify is native (docs/performance.md, "Where
 * the storage cost goes").
 * JSON null is SQL NULL; a Date goes as its ISO text; every element arrives as text, cast in SQL.
 */
export function jsonColumn(values: readonly unknown[]): string {
  return JSON.stringify(values);
}

/** Values that are JSON text already (the envelopes' own text), as one JSON array: joined, not escaped. */
export function jsonTextColumn(texts: readonly string[]): string {
  return `[${texts.join(',')}]`;
}

/** The elements of parameter `$n`, a jsonColumn, as a set of text. */
export function jsonElements(parameter: number): string {
  return `json_array_elements_text($${parameter}::json)`;
}

/** The elements of parameter `$n`, a jsonColumn, as an array of `type` (for `= ANY(…)`, which keeps an index scan). */
export function jsonArray(parameter: number, type: string): string {
  return `ARRAY(SELECT v::${type} FROM ${jsonElements(parameter)} WITH ORDINALITY AS t(v, n) ORDER BY n)`;
}
