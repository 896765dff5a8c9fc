import { QRCodeSVG } from 'qrcode.react';

/**
 * The Android enrollment token as a QR code (qrcode.react). The same content is always also given
 * as text next to it. To do without the library, return null here: the text remains.
 */
export function EnrollmentQr({ value }: { value: string }) {
  if (!value) return null;
  return (
    <figure className="fr-m-0">
      <QRCodeSVG
        value={value}
        size={240}
        marginSize={4}
        level="M"
        role="img"
        aria-label="Code QR d’enrôlement Android"
      />
    </figure>
  );
}
