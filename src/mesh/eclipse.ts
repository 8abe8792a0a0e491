/**
 * Eclipse mitigation (spec §8.1): with several signaling servers, members that only one
 * server vouches for may take at most their server's share of the links a node
 * initiates, so a lying server cannot fill them all with its own identities.
 */

/** Which servers' announces carried each member (see `Member.sources`). */
export type SourcesOf = (nodeId: string) => ReadonlySet<string> | undefined;

/**
 * Whether the node may initiate a link to `candidate` now, given the peers it already
 * holds (open or pending), `servers` signaling servers and at most `limit` initiated links.
 */
export function withinSourceShare(candidate: string, linked: Iterable<string>, sourcesOf: SourcesOf, servers: number, limit: number): boolean {
  const sources = sourcesOf(candidate);
  if (servers < 2 || !sources || sources.size !== 1) return true;
  const [only] = sources;
  let taken = 0;
  for (const id of linked) {
    const s = sourcesOf(id);
    if (s?.size === 1 && s.has(only)) taken++;
  }
  return taken < Math.ceil(limit / servers);
}
