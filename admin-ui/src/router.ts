import { useEffect, useState } from 'react';

/**
 * Routing in the URL fragment (#/agent/demandes): the API owns every path (/me, /ministries…), so the
 * interface never collides with it and works wherever it is served. Fragments that are not routes
 * (the skip link's #contenu) leave the current page alone. A route may carry a query after `?`
 * (#/exemptions/<id>?renew=1, #/validation/file?ministere=interieur): links in emails use it.
 */
function current(): string {
  const h = window.location.hash;
  return h.startsWith('#/') ? h.slice(1) : '/';
}

export interface Route {
  segments: string[];
  query: URLSearchParams;
  /** The whole route, for keys that must change when the page changes. */
  path: string;
}

function parse(path: string): Route {
  const q = path.indexOf('?');
  const segments = (q < 0 ? path : path.slice(0, q))
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query: new URLSearchParams(q < 0 ? '' : path.slice(q + 1)), path };
}

export function useRoute(): Route {
  const [path, setPath] = useState(current);
  useEffect(() => {
    const onChange = () => {
      if (window.location.hash.startsWith('#/') || window.location.hash === '') setPath(current());
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parse(path);
}

export function href(...segments: string[]): string {
  return `#/${segments.map(encodeURIComponent).join('/')}`;
}

export function navigate(...segments: string[]): void {
  window.location.hash = href(...segments).slice(1);
}
