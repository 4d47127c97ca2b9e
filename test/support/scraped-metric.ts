/** The value of the first line of `url`/metrics that matches `line` (e.g. /^webhook_x_total /). */
export async function scrapedMetric(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.split('\n').find((l) => line.test(l));
  if (!match) throw new Error(`no ${line} in /metrics`);
  return Number(match.split(' ').pop());
}
