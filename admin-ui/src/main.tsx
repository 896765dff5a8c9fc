import '@codegouvfr/react-dsfr/main.css';
import { startReactDsfr } from '@codegouvfr/react-dsfr/spa';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';

startReactDsfr({ defaultColorScheme: 'system' });

const root = document.getElementById('root');
if (!root) throw new Error('#root manquant dans index.html');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
