/**
 * AMQP topic matching, as the feed's bindings use it (`<outcome>.<name>`): words split on `.`, `*`
 * matches exactly one word, `#` zero or more. A destination's filter is the same language, so a
 * pattern an operator already binds a queue with selects the same events over HTTP.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const want = pattern.split('.');
  const have = routingKey.split('.');
  // matched[i][j]: want[i..] matches have[j..]; filled from the end (no recursion, no blow-up on many #).
  let next = new Array<boolean>(have.length + 1).fill(false);
  next[have.length] = true;
  for (let i = want.length - 1; i >= 0; i--) {
    const current = new Array<boolean>(have.length + 1).fill(false);
    for (let j = have.length; j >= 0; j--) {
      const word = want[i];
      if (word === '#') current[j] = next[j] || (j < have.length && current[j + 1]);
      else current[j] = j < have.length && (word === '*' || word === have[j]) && next[j + 1];
    }
    next = current;
  }
  return next[0];
}

/** A filter: any of its patterns matches. */
export function filterMatches(patterns: readonly string[], routingKey: string): boolean {
  return patterns.some((pattern) => topicMatches(pattern, routingKey));
}
