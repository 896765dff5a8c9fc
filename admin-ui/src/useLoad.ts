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

/**
 * The page's own loads in flight. The navigation's counts (`secondary`) wait for them: on a 2-core
 * server answering six requests at once, the one the person opened the page for comes back first.
 */
let pageLoads = 0;
let whenIdle: (() => void)[] = [];

function tracked<T>(promise: Promise<T>): Promise<T> {
  pageLoads++;
  const done = () => {
    pageLoads--;
    if (pageLoads > 0) return;
    const waiting = whenIdle;
    whenIdle = [];
    for (const go of waiting) go();
  };
  promise.then(done, done);
  return promise;
}

/** Resolves once no page load is in flight, or after `maxMs` (a page that keeps loading does not starve the counts). */
function pageLoaded(maxMs = 1500): Promise<void> {
  if (pageLoads === 0) return Promise.resolve();
  return new Promise((resolve) => {
    whenIdle.push(resolve);
    setTimeout(resolve, maxMs);
  });
}

/**
 * Runs `load` when `key` changes (and on reload()); keeps the error for display, ignores stale answers.
 * `secondary`: what is not the page's content (the navigation's counts) starts once the page's own loads are answered.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, secondary = false): Loaded<T> {
  const [tick, setTick] = useState(0);
  const [settled, setSettled] = useState<Settled<T>>({ request: '' });
  const request = `${tick}:${key}`;
  useEffect(() => {
    let live = true;
    (secondary ? pageLoaded().then(load) : tracked(load())).then(
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
