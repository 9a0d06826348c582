/**
 * NATS wildcard rules, for consumers that filter in process: tokens are split on '.', `*` matches
 * exactly one token, `>` (only as the last token) matches one or more remaining tokens.
 */
export const subjectMatches = (filter: string, subject: string): boolean => {
  const wanted = filter.split('.');
  const actual = subject.split('.');
  for (let i = 0; i < wanted.length; i += 1) {
    const token = wanted[i];
    if (token === '>') return i === wanted.length - 1 && actual.length > i;
    const value = actual[i];
    if (value === undefined || value === '') return false;
    if (token !== '*' && token !== value) return false;
  }
  return wanted.length === actual.length;
};

export const matchesAnySubject = (filters: readonly string[], subject: string): boolean =>
  filters.some((filter) => subjectMatches(filter, subject));

/**
 * The narrowest single filter covering all of `filters`: their common leading literal tokens then
 * `>` (`evt.print.>` + `evt.scan.*.Done` -> `evt.>`). `undefined` when they share nothing.
 */
export const coveringSubjectFilter = (filters: readonly string[]): string | undefined => {
  const [first, ...rest] = filters;
  if (first === undefined) return undefined;
  if (rest.length === 0) return first;
  const split = filters.map((filter) => filter.split('.'));
  const common: string[] = [];
  for (let i = 0; ; i += 1) {
    const token = split[0]?.[i];
    if (token === undefined || token === '*' || token === '>') break;
    // A filter that ends here (no further token) is narrower than `>`: stop before it.
    if (!split.every((tokens) => tokens[i] === token && tokens.length > i + 1)) break;
    common.push(token);
  }
  return common.length === 0 ? undefined : `${common.join('.')}.>`;
};

/**
 * The event types that event subjects under `root` (`<root>.<group>.<id>.<Type>`) matching
 * `filters` can have, when every filter names its type; undefined when one matches any type.
 * A filter outside `root` matches no event and adds none.
 */
export const eventTypesMatched = (filters: readonly string[], root: string): string[] | undefined => {
  const types = new Set<string>();
  for (const filter of filters) {
    if (!filter.startsWith(`${root}.`)) continue;
    const tokens = filter.slice(root.length + 1).split('.');
    const type = tokens[2];
    if (type === '>' || tokens[0] === '>' || tokens[1] === '>') return undefined;
    if (tokens.length !== 3 || type === undefined) continue;
    if (type === '*') return undefined;
    types.add(type);
  }
  return [...types];
};

/**
 * The groups (`<root>.<group>.<id>.<Type>`: a job's kind, another stream's category) that event
 * subjects under `root` matching `filters` can have, when every filter names its group; undefined
 * when one matches any group. A filter outside `root` matches no event and adds none.
 */
export const subjectGroupsMatched = (filters: readonly string[], root: string): string[] | undefined => {
  const groups = new Set<string>();
  for (const filter of filters) {
    if (!filter.startsWith(`${root}.`)) continue;
    const [group] = filter.slice(root.length + 1).split('.');
    if (group === undefined || group === '*' || group === '>') return undefined;
    groups.add(group);
  }
  return [...groups];
};
