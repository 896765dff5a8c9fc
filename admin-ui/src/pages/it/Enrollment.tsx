import { Button } from '@codegouvfr/react-dsfr/Button';
import { Input } from '@codegouvfr/react-dsfr/Input';
import { Select } from '@codegouvfr/react-dsfr/Select';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api';
import { EnrollmentQr } from '../../components/EnrollmentQr';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatDateTime } from '../../labels';
import type { AndroidEnrollmentToken, AppleEnrollmentLink, PersonalUsage } from '../../types';
import { errorOf } from '../../useLoad';

/**
 * A platform this server has no connector for: the API answers 409 `android.not-configured` /
 * `apple.not-configured` (an older server: 404 `request.not-found`, "Cannot POST …"). Said in French,
 * with what to do.
 */
const NOT_CONFIGURED = {
  android:
    'Android n’est pas configuré : ce serveur n’est relié à aucun projet Android Enterprise (réglages GOOGLE_APPLICATION_CREDENTIALS et GOOGLE_CLOUD_PROJECT). Demandez à l’exploitant du service de le relier, puis à l’administration nationale de lier le ministère à son entreprise Android.',
  apple:
    'Les iPhone ne sont pas configurés : ce serveur n’est pas serveur MDM Apple (réglage APPLE_MDM, et le certificat de notification push Apple à déposer par l’administration nationale). Demandez à l’exploitant du service de l’activer.',
} as const;

function enrolmentError(err: unknown, platform: keyof typeof NOT_CONFIGURED): Error {
  if (
    err instanceof ApiError &&
    (err.code === `${platform}.not-configured` || (err.status === 404 && err.code === 'request.not-found'))
  )
    return new ApiError(err.status, err.code, err.detail, NOT_CONFIGURED[platform]);
  return errorOf(err);
}

/**
 * A personally owned phone is not reset: its owner opens this link on it (sent by mail or message),
 * which sets up the work profile. Shown beside the QR code, copyable.
 */
function EnrollmentLink({ href }: { href: string }) {
  const [copied, setCopied] = useState<boolean>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(href);
      setCopied(true);
    } catch {
      // No clipboard (insecure context, refused permission): the link stays selectable on screen.
      setCopied(false);
    }
  };
  return (
    <div className="fr-col">
      <p className="fr-mb-1w">
        Téléphone personnel (sans réinitialisation) : lien à ouvrir sur le téléphone, qui crée le profil professionnel.
      </p>
      <p className="fr-mb-1w">
        <a href={href} id="android-enrollment-link" style={{ wordBreak: 'break-all' }}>
          {href}
        </a>
      </p>
      <Button type="button" priority="secondary" size="small" iconId="fr-icon-clipboard-line" onClick={copy}>
        Copier le lien d’enrôlement
      </Button>
      <p className="fr-text--sm fr-mt-1w" role="status">
        {copied === true ? 'Lien copié.' : copied === false ? 'Copie impossible : sélectionnez le lien.' : ''}
      </p>
    </div>
  );
}

function AndroidToken({ ministry }: { ministry: string }) {
  const [hours, setHours] = useState('24');
  const [usage, setUsage] = useState<PersonalUsage>('allowed');
  const [token, setToken] = useState<AndroidEnrollmentToken>();
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      setToken(
        await api.androidEnrollmentToken(ministry, {
          durationMinutes: Math.round(Number(hours) * 60),
          personalUsage: usage,
        }),
      );
    } catch (err) {
      setError(enrolmentError(err, 'android'));
    }
  };
  return (
    <section className="fr-col-12 fr-col-md-6" aria-labelledby="android-title">
      <h2 id="android-title" className="fr-h4">
        Android (Android Enterprise)
      </h2>
      <form onSubmit={submit}>
        <Input
          label="Validité (heures)"
          nativeInputProps={{
            type: 'number',
            min: 1,
            max: 2160,
            value: hours,
            onChange: (e) => setHours(e.target.value),
          }}
        />
        <Select
          label="Usage personnel"
          nativeSelectProps={{ value: usage, onChange: (e) => setUsage(e.target.value as PersonalUsage) }}
        >
          <option value="allowed">Autorisé (profil professionnel)</option>
          <option value="disallowed">Interdit (appareil entièrement géré)</option>
          <option value="dedicated">Appareil dédié</option>
        </Select>
        <Button type="submit" iconId="fr-icon-qr-code-line">
          Créer un jeton d’enrôlement
        </Button>
      </form>
      {error && (
        <div className="fr-mt-2w">
          <ErrorAlert title="Jeton non créé" error={error} />
        </div>
      )}
      {token && (
        <div className="fr-mt-3w">
          <p>
            Valable jusqu’au {formatDateTime(token.expiresAt)}. À scanner depuis l’écran d’accueil du téléphone
            réinitialisé.
          </p>
          <div className="fr-grid-row fr-grid-row--gutters fr-grid-row--middle">
            <div className="fr-col-auto">
              <EnrollmentQr value={token.qrCode} />
            </div>
            {token.enrollmentLink && <EnrollmentLink href={token.enrollmentLink} />}
          </div>
          <details className="fr-mt-2w">
            <summary>Contenu du code QR (texte)</summary>
            <pre style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{token.qrCode}</pre>
          </details>
          <p className="fr-text--sm">
            Code d’enrôlement : <code>{token.value}</code>
          </p>
        </div>
      )}
    </section>
  );
}

function AppleLink({ ministry }: { ministry: string }) {
  const [hours, setHours] = useState('72');
  const [link, setLink] = useState<AppleEnrollmentLink>();
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      setLink(await api.appleEnrollmentLink(ministry, { expiresInHours: Number(hours) }));
    } catch (err) {
      setError(enrolmentError(err, 'apple'));
    }
  };
  return (
    <section className="fr-col-12 fr-col-md-6" aria-labelledby="apple-title">
      <h2 id="apple-title" className="fr-h4">
        iPhone (Apple MDM)
      </h2>
      <form onSubmit={submit}>
        <Input
          label="Validité (heures)"
          nativeInputProps={{
            type: 'number',
            min: 1,
            max: 720,
            value: hours,
            onChange: (e) => setHours(e.target.value),
          }}
        />
        <Button type="submit" iconId="fr-icon-links-line">
          Créer un lien d’enrôlement
        </Button>
      </form>
      {error && (
        <div className="fr-mt-2w">
          <ErrorAlert title="Lien non créé" error={error} />
        </div>
      )}
      {link && (
        <div className="fr-mt-3w">
          <p>Valable jusqu’au {formatDateTime(link.expiresAt)}. À ouvrir dans Safari sur l’iPhone :</p>
          <p>
            <a href={link.url} style={{ wordBreak: 'break-all' }}>
              {link.url}
            </a>
          </p>
        </div>
      )}
    </section>
  );
}

export function Enrollment({ ministry }: { ministry: string }) {
  return (
    <div className="fr-grid-row fr-grid-row--gutters">
      <AndroidToken ministry={ministry} />
      <AppleLink ministry={ministry} />
    </div>
  );
}
