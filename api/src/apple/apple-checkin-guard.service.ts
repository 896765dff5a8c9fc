import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppleCommandsService } from './apple-commands.service';
import { AppleError } from './apple.error';
import { PlistDict } from './apple-payloads';
import { PushCertificateService } from './push-certificate.service';

/** ProductName / Model of a Mac (MacBookPro18,3, Mac14,2, iMac21,1, Macmini9,1, MacPro7,1, VirtualMac2,1). */
const MAC = /^(Mac|iMac|VirtualMac)/;

/** A DeviceInformation without IsSupervised is asked again after 5 minutes (then with backoff), at most this often a day. */
const SUPERVISION_ASKS_PER_DAY = 6;
const ASK_AGAIN_SECONDS = 300;

/**
 * What a check-in must be before it touches anything (it runs before the identity claims its link):
 * - an iPhone or an iPad: a Mac speaks the same protocol, but this service sends it iPhone
 *   restrictions it would not enforce, so it is refused with a sentence rather than shown as a
 *   compliant "iPhone";
 * - for this server's push certificate: a Topic other than the certificate's means the profile came
 *   from another MDM server (or was edited), and pushes to that phone would never arrive.
 */
@Injectable()
export class AppleCheckinGuard {
  constructor(
    private readonly push: PushCertificateService,
    private readonly queue: AppleCommandsService,
  ) {}

  async check(type: string, message: Record<string, unknown>): Promise<void> {
    if (type === 'Authenticate') {
      const hardware = [message.ProductName, message.Model].find(
        (v): v is string => typeof v === 'string' && MAC.test(v),
      );
      if (hardware)
        throw new AppleError(
          'unsupported-device',
          'forbidden',
          `This service manages iPhones and iPads only: a Mac (${hardware}) cannot be enrolled. Remove the enrollment profile from the Mac.`,
        );
    }
    const topic = message.Topic;
    if (typeof topic === 'string' && (type === 'Authenticate' || type === 'TokenUpdate')) {
      const active = await this.push.active();
      if (active && topic !== active.topic)
        throw new AppleError(
          'wrong-topic',
          'forbidden',
          `This check-in names the push topic ${JSON.stringify(topic.slice(0, 100))}, not this server's (${active.topic}): the enrollment profile is not one of this server's. Enroll with a profile from this server.`,
        );
    }
  }

  /**
   * A DeviceInformation answer without IsSupervised says nothing about supervision (absent is not
   * false): asked again later, with a push and backoff, a few times a day at most.
   */
  async askSupervisionAgain(tx: EntityManager, deviceId: string): Promise<boolean> {
    const [{ n }] = (await tx.query(
      `SELECT count(*)::int AS n FROM apple_command
        WHERE device_id = $1 AND request_type = 'DeviceInformation' AND created_at > now() - interval '1 day'`,
      [deviceId],
    )) as { n: number }[];
    if (n >= SUPERVISION_ASKS_PER_DAY) return false;
    const ask: PlistDict = { RequestType: 'DeviceInformation', Queries: ['IsSupervised', 'OSVersion', 'ProductName'] };
    await this.queue.enqueueLater(tx, deviceId, ask, ASK_AGAIN_SECONDS);
    return true;
  }
}
