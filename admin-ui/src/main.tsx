import '@codegouvfr/react-dsfr/main.css';
import './app.css';
import favicon from '@codegouvfr/react-dsfr/favicon/favicon.svg';
import { startReactDsfr } from '@codegouvfr/react-dsfr/spa';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { prefetchQueueOnLoad } from './prefetch';

prefetchQueueOnLoad();
startReactDsfr({ defaultColorScheme: 'system' });

const icon = document.createElement('link');
icon.rel = 'icon';
icon.type = 'image/svg+xml';
icon.href = favicon;
document.head.appendChild(icon);

const root = document.getElementById('root');
if (!root) throw new Error('#root manquant dans index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
