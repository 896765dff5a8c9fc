import { useEffect, useState } from 'react';

/**
 * Routing in the URL fragment (#/agent/demandes): the API owns every path (/me, /ministries…), so the
 * interface never collides with it and works wherever it is served. Fragments that are not routes
 * (the skip link's #contenu) leave the current page alone.
 */
function current(): string {
  const h = window.location.hash;
  return h.startsWith('#/') ? h.slice(1) : '/';
}

export function useRoute(): string[] {
  const [path, setPath] = useState(current);
  useEffect(() => {
    const onChange = () => {
      if (window.location.hash.startsWith('#/') || window.location.hash === '') setPath(current());
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return path.split('/').filter(Boolean);
}

export function href(...segments: string[]): string {
  return `#/${segments.map(encodeURIComponent).join('/')}`;
}

export function navigate(...segments: string[]): void {
  window.location.hash = href(...segments).slice(1);
}
