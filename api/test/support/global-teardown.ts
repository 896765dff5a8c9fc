export default async function globalTeardown(): Promise<void> {
  const handles = (globalThis as { __mdmTestHandles?: { stop: () => Promise<void> }[] }).__mdmTestHandles ?? [];
  for (const h of handles.reverse()) await h.stop();
}
