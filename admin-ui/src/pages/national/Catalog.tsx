import { Input } from '@codegouvfr/react-dsfr/Input';
import { ScrollTable } from '../../components/ScrollTable';
import { useState } from 'react';
import { api } from '../../api';
import { LoadState } from '../../components/LoadState';
import { CATEGORY_LABELS } from '../../labels';
import { useLoad } from '../../useLoad';

export function Catalog() {
  const catalog = useLoad(() => api.catalog(), 'catalog');
  const [q, setQ] = useState('');
  return (
    <>
      <Input
        label="Filtrer le catalogue"
        hintText="Nom, identifiant ou éditeur"
        nativeInputProps={{ type: 'search', value: q, onChange: (e) => setQ(e.target.value) }}
      />
      <LoadState loaded={catalog} what="le catalogue">
        {(apps) => {
          const needle = q.trim().toLowerCase();
          const shown = apps.filter(
            (a) => !needle || [a.name, a.slug, a.publisher ?? ''].some((s) => s.toLowerCase().includes(needle)),
          );
          return (
            <ScrollTable
              caption={`Catalogue des applications (${shown.length} sur ${apps.length})`}
              headers={['Application', 'Identifiant', 'Catégorie', 'Éditeur', 'Android', 'iOS']}
              data={shown.map((a) => [
                a.name,
                a.slug,
                CATEGORY_LABELS[a.category] ?? a.category,
                a.publisher ?? '—',
                a.android.join(', ') || (a.web ? 'application web' : '—'),
                a.ios.join(', ') || (a.web ? 'application web' : '—'),
              ])}
            />
          );
        }}
      </LoadState>
    </>
  );
}
