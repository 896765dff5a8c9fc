import { api } from './api';

/** The ministry whose queue this tab showed last (sessionStorage: this tab only, gone when it closes). */
const LAST_QUEUE = 'mdm.lastQueueMinistry';

export function rememberQueueMinistry(ministry: string): void {
  try {
    sessionStorage.setItem(LAST_QUEUE, ministry);
  } catch {
    // Storage refused (private mode): no head start, nothing else changes.
  }
}

export function forgetQueueMinistry(): void {
  try {
    sessionStorage.removeItem(LAST_QUEUE);
  } catch {
    // as above
  }
}

/**
 * As the code starts, /me is asked before React's first render (which would ask for it next). On a
 * load of the approvers' queue, its first page is asked at once, in parallel with /me instead
 * of after it: the ministry comes from the link (?ministere=) or from this tab's last queue. The API
 * checks access as for any request; a guess that does not match the page shown is simply not used.
 */
export function prefetchQueueOnLoad(): void {
  api.prefetchMe();
  const match = /^#\/validation\/file(?:\?(.*))?$/.exec(window.location.hash);
  if (!match) return;
  let ministry: string | null = new URLSearchParams(match[1] ?? '').get('ministere');
  try {
    ministry ??= sessionStorage.getItem(LAST_QUEUE);
  } catch {
    return;
  }
  if (ministry) api.prefetchQueue(ministry);
}
