/**
 * OS versions as phones report them ("14.8", "17.6.1") and as policies set a minimum ("16", "17.4"):
 * compared number by number, a missing part being 0. Plain functions (shared with the admin interface).
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Whether a reported version is below a minimum; false when the version is not known yet. */
export function versionBelow(version: string | null | undefined, minimum: string | null | undefined): boolean {
  if (!version || !minimum || !/^\d/.test(version)) return false;
  return compareVersions(version, minimum) < 0;
}

/** The stricter (higher) of two minimums; undefined when neither is set. */
export function stricterMinimum(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareVersions(a, b) >= 0 ? a : b;
}
