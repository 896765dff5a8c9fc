import { useCallback, useEffect, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

interface Settled<T> {
  /** Which request (key and reload count) this answer belongs to: loading is "no answer for the current one yet". */
  request: string;
  data?: T;
  error?: Error;
}

/** Runs `load` when `key` changes (and on reload()); keeps the error for display, ignores stale answers. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [tick, setTick] = useState(0);
  const [settled, setSettled] = useState<Settled<T>>({ request: '' });
  const request = `${tick}:${key}`;
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setSettled({ request, data }),
      (error: unknown) => live && setSettled({ request, error: errorOf(error) }),
    );
    return () => {
      live = false;
    };
    // `load` is a fresh closure on every render; `request` (key and reload count) says when what it loads changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = settled.request === request;
  // While a new answer is on its way the previous data stays on screen (no flicker on refresh).
  return { data: settled.data, error: current ? settled.error : undefined, loading: !current, reload };
}

export function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Reloads every `ms` while `live` holds: a rollout in progress moves without anyone pressing a button. */
export function useAutoReload(reload: () => void, ms: number, live: boolean): void {
  useEffect(() => {
    if (!live) return;
    const timer = window.setInterval(reload, ms);
    return () => window.clearInterval(timer);
  }, [reload, ms, live]);
}
