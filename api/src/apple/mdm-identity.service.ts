import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AppleCaService } from './apple-ca.service';
import { APPLE_SETTINGS, AppleSettings } from './apple-settings';
import { AppleError } from './apple.error';
import { verifyDetachedSignature } from './cms/cms';
import { DEFAULT_PER_DEVICE, RATE_LIMIT_SETTINGS, RateLimitSettings } from '../security/rate-limit-settings';
import { RateLimitStore } from '../security/rate-limit-store';

/**
 * Proves who is speaking on the MDM endpoints: the `Mdm-Signature` CMS signature over the body
 * (SignMessage in the enrollment profile), or the client certificate a TLS proxy forwards. Either
 * way the certificate must come from this server's CA; its serial is the device identity, whose
 * messages are rate-limited (RateLimitSettings.perDevice).
 */
@Injectable()
export class MdmIdentityService {
  constructor(
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly ca: AppleCaService,
    private readonly store: RateLimitStore,
    @Inject(RATE_LIMIT_SETTINGS) private readonly limits: RateLimitSettings,
  ) {}

  async serialOf(request: Request, body: Buffer): Promise<string> {
    let certificatePem: string | undefined;
    if (this.settings.identityFrom === 'proxy-header') {
      const header = request.headers[this.settings.proxyCertHeader.toLowerCase()];
      certificatePem = typeof header === 'string' ? decodeURIComponent(header) : undefined;
      if (!certificatePem)
        throw new AppleError('no-identity', 'unauthenticated', 'No client certificate was forwarded by the TLS proxy.');
    } else {
      const signature = request.headers['mdm-signature'];
      if (typeof signature !== 'string')
        throw new AppleError('no-identity', 'unauthenticated', 'The request carries no Mdm-Signature header.');
      const verified = verifyDetachedSignature(body, signature);
      if (!verified.ok || !verified.certificatePem)
        throw new AppleError(
          'bad-signature',
          'unauthenticated',
          `The Mdm-Signature does not verify: ${verified.reason ?? 'invalid'}.`,
        );
      certificatePem = verified.certificatePem;
    }
    if (!certificatePem) throw new AppleError('no-identity', 'unauthenticated', 'No device certificate.');
    const serial = await this.ca.serialIfOurs(certificatePem);
    if (!serial)
      throw new AppleError(
        'unknown-identity',
        'forbidden',
        'The device identity was not issued by this server (or has expired).',
      );
    await this.limit(request, serial);
    return serial;
  }

  /**
   * Messages per device identity, counted once the identity is proven and before the body is
   * parsed: a phone (or a stolen identity) that floods gets 429 with Retry-After, as every phone
   * behind the same carrier address keeps its own budget.
   */
  private async limit(request: Request, serial: string): Promise<void> {
    const perDevice = this.limits.perDevice ?? DEFAULT_PER_DEVICE;
    const windowMs = this.limits.windowSeconds * 1000;
    const counted = await this.store.hit(`device:${serial}`, windowMs, perDevice);
    if (!counted.blocked) return;
    request.res?.setHeader('Retry-After', counted.retryAfterSeconds);
    throw new AppleError(
      'too-many-messages',
      'too-many-requests',
      `Too many MDM messages from this device: at most ${perDevice} every ${this.limits.windowSeconds} s. Try again in ${counted.retryAfterSeconds} s.`,
      { limit: perDevice, windowSeconds: this.limits.windowSeconds, retryAfterSeconds: counted.retryAfterSeconds },
    );
  }
}
