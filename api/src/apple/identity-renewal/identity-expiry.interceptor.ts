import { CallHandler, ExecutionContext, Inject, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { X509Certificate } from 'node:crypto';
import { from, mergeMap, Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import { verifyDetachedSignature } from '../cms/cms';
import { AppleCaService } from '../apple-ca.service';
import { APPLE_SETTINGS, AppleSettings } from '../apple-settings';

/**
 * Records the exact expiry of the identity a phone checks in with. An enrollment profile's identity
 * is stored with an estimate (two years from the download), but its certificate may have been
 * issued long before, while it waited in the identity pool of an idle process: the renewal job
 * must go by the certificate's real date. Check-ins are rare (enrollment, token changes): the Idle
 * polls are left alone. Only a certificate of this server's CA is believed (a forged one naming a
 * phone's serial must not push its renewal back), and before the check-in is answered, so that
 * the phone's next message already meets the right date.
 */
@Injectable()
export class IdentityExpiryInterceptor implements NestInterceptor {
  private readonly logger = new Logger('AppleIdentityRenewal');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly ca: AppleCaService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    if (request.method !== 'PUT' || !request.path.endsWith('/mdm/checkin')) return next.handle();
    return from(this.record(request)).pipe(mergeMap(() => next.handle()));
  }

  private async record(request: Request): Promise<void> {
    const pem = this.certificateOf(request);
    if (!pem) return;
    try {
      const serial = await this.ca.serialIfOurs(pem);
      if (!serial) return; // refused by the check-in itself, with its sentence
      await this.db.query(
        `UPDATE apple_identity SET not_after = $2 WHERE serial = $1 AND not_after IS DISTINCT FROM $2`,
        [serial, new Date(new X509Certificate(pem).validTo)],
      );
    } catch (e) {
      this.logger.warn(`identity expiry not recorded: ${(e as Error).message}`);
    }
  }

  private certificateOf(request: Request): string | undefined {
    if (this.settings.identityFrom === 'proxy-header') {
      const header = request.headers[this.settings.proxyCertHeader.toLowerCase()];
      return typeof header === 'string' ? decodeURIComponent(header) : undefined;
    }
    const signature = request.headers['mdm-signature'];
    if (typeof signature !== 'string' || !Buffer.isBuffer(request.body)) return undefined;
    return verifyDetachedSignature(request.body, signature).certificatePem;
  }
}
