import { Inject, Injectable } from '@nestjs/common';
import { createPrivateKey, generateKeyPair, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { AppleCaService } from '../apple-ca.service';
import { APPLE_SETTINGS, AppleSettings } from '../apple-settings';
import { CmsSigner, pemCertificates, signCms } from './cms-write';

const generateRsa = promisify(generateKeyPair);

/**
 * Signs enrollment profiles (a .mobileconfig as DER CMS SignedData, the XML inside), so that iOS
 * shows who they come from and refuses a profile changed on the way. The signer is the configured
 * certificate (AppleSettings.profileSigning: in production the public host's TLS certificate,
 * which iOS shows as "Verified"), or else a certificate our device CA issues at first use, kept in
 * this process's memory only (each profile carries it: nothing needs to find it again later).
 */
@Injectable()
export class ProfileSignerService {
  private signer?: Promise<CmsSigner>;

  constructor(
    @Inject(APPLE_SETTINGS) private readonly settings: AppleSettings,
    private readonly ca: AppleCaService,
  ) {}

  /** The DER SignedData of the profile's XML. */
  async sign(xml: string): Promise<Buffer> {
    return signCms(Buffer.from(xml, 'utf8'), await this.current());
  }

  /** The signing certificate (PEM). */
  async certificatePem(): Promise<string> {
    const [leaf] = (await this.current()).certificates;
    return new X509Certificate(leaf).toString();
  }

  private current(): Promise<CmsSigner> {
    this.signer ??= this.load().catch((error: unknown) => {
      this.signer = undefined;
      throw error;
    });
    return this.signer;
  }

  private async load(): Promise<CmsSigner> {
    const configured = this.settings.profileSigning;
    if (configured)
      return { certificates: pemCertificates(configured.certPem), key: createPrivateKey(configured.keyPem) };
    const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
    const issued = await this.ca.issueCertificate(
      publicKey,
      'MDM applications Etat - signature des profils',
      'profile-signing',
    );
    const { certificate } = await this.ca.authority();
    return { certificates: [issued.certDer, certificate], key: privateKey };
  }
}
