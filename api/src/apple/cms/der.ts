/**
 * A minimal ASN.1 BER/DER reader over Buffers that keeps the exact byte ranges of every element.
 *
 * CMS verification needs the signed attributes exactly as received (they are signed as DER with
 * the [0] tag replaced by SET), so re-encoding a parsed tree (what node-forge does) is not good
 * enough. Definite and indefinite lengths are accepted (some CMS producers emit BER), high tag
 * numbers too. Nesting is bounded. Only node built-ins.
 *
 * Also X.509 helpers that read names, serial and SKI without parsing the public key (so they work
 * for RSA and EC certificates alike).
 */

export const TagClass = { universal: 0, application: 1, context: 2, private: 3 } as const;

export const UniversalTag = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  null: 5,
  oid: 6,
  utf8String: 12,
  sequence: 16,
  set: 17,
  printableString: 19,
  ia5String: 22,
  utcTime: 23,
  generalizedTime: 24,
} as const;

export interface Tlv {
  /** The whole input (the element is `raw`). */
  readonly buffer: Buffer;
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** Offset of the first identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the content (before the end-of-contents octets of an indefinite length). */
  readonly contentEnd: number;
  /** Offset just past the element. */
  readonly end: number;
  readonly indefinite: boolean;
}

export class DerError extends Error {}

const MAX_DEPTH = 64;

/** Reads one element at `offset`; it must end at or before `limit`. */
export function readTlv(buffer: Buffer, offset = 0, limit = buffer.length, depth = 0): Tlv {
  if (depth > MAX_DEPTH) throw new DerError('ASN.1 nesting too deep');
  let pos = offset;
  const need = (n: number): void => {
    if (pos + n > limit) throw new DerError(`truncated ASN.1 element at offset ${offset}`);
  };
  need(1);
  const first = buffer[pos++];
  const tagClass = first >> 6;
  const constructed = (first & 0x20) !== 0;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (i > 4) throw new DerError('ASN.1 tag number too large');
      need(1);
      const b = buffer[pos++];
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  need(1);
  const lengthByte = buffer[pos++];
  if (lengthByte === 0x80) {
    if (!constructed) throw new DerError('indefinite length on a primitive ASN.1 element');
    const contentStart = pos;
    for (;;) {
      need(2);
      if (buffer[pos] === 0 && buffer[pos + 1] === 0) {
        return {
          buffer,
          tagClass,
          constructed,
          tagNumber,
          start: offset,
          contentStart,
          contentEnd: pos,
          end: pos + 2,
          indefinite: true,
        };
      }
      pos = readTlv(buffer, pos, limit, depth + 1).end;
    }
  }
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count > 4) throw new DerError('ASN.1 length too large');
    need(count);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[pos++];
  }
  need(length);
  return {
    buffer,
    tagClass,
    constructed,
    tagNumber,
    start: offset,
    contentStart: pos,
    contentEnd: pos + length,
    end: pos + length,
    indefinite: false,
  };
}

/** Parses a buffer that must hold exactly one element (trailing bytes are an error). */
export function parseSingle(buffer: Buffer): Tlv {
  const tlv = readTlv(buffer, 0, buffer.length);
  if (tlv.end !== buffer.length)
    throw new DerError(`${buffer.length - tlv.end} trailing bytes after the ASN.1 element`);
  return tlv;
}

export function children(tlv: Tlv): Tlv[] {
  if (!tlv.constructed) throw new DerError('not a constructed ASN.1 element');
  const out: Tlv[] = [];
  let pos = tlv.contentStart;
  while (pos < tlv.contentEnd) {
    const child = readTlv(tlv.buffer, pos, tlv.contentEnd, 1);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function content(tlv: Tlv): Buffer {
  return tlv.buffer.subarray(tlv.contentStart, tlv.contentEnd);
}

/** The element's bytes exactly as received (identifier, length, content). */
export function raw(tlv: Tlv): Buffer {
  return tlv.buffer.subarray(tlv.start, tlv.end);
}

export function is(tlv: Tlv, tagClass: number, tagNumber: number, constructed?: boolean): boolean {
  return (
    tlv.tagClass === tagClass &&
    tlv.tagNumber === tagNumber &&
    (constructed === undefined || tlv.constructed === constructed)
  );
}

export function expect(tlv: Tlv | undefined, tagClass: number, tagNumber: number, what: string): Tlv {
  if (!tlv || !is(tlv, tagClass, tagNumber)) throw new DerError(`expected ${what}`);
  return tlv;
}

export function expectUniversal(tlv: Tlv | undefined, tagNumber: number, what: string): Tlv {
  return expect(tlv, TagClass.universal, tagNumber, what);
}

export function decodeOid(tlv: Tlv): string {
  if (!is(tlv, TagClass.universal, UniversalTag.oid, false)) throw new DerError('expected an OBJECT IDENTIFIER');
  const bytes = content(tlv);
  if (bytes.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < bytes.length; i++) {
    value = value * 128 + (bytes[i] & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OBJECT IDENTIFIER arc too large');
    if ((bytes[i] & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === bytes.length - 1) {
      throw new DerError('truncated OBJECT IDENTIFIER');
    }
  }
  const first = arcs[0];
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export function decodeSmallInteger(tlv: Tlv): number {
  if (!is(tlv, TagClass.universal, UniversalTag.integer, false)) throw new DerError('expected an INTEGER');
  const bytes = content(tlv);
  if (bytes.length === 0 || bytes.length > 4) throw new DerError('INTEGER out of range');
  return bytes.readIntBE(0, bytes.length);
}

/** OCTET STRING content; a constructed (BER) OCTET STRING is concatenated. */
export function octets(tlv: Tlv): Buffer {
  if (!is(tlv, TagClass.universal, UniversalTag.octetString)) throw new DerError('expected an OCTET STRING');
  if (!tlv.constructed) return content(tlv);
  return Buffer.concat(children(tlv).map(octets));
}

/** UTCTime or GeneralizedTime (Z form) to a Date. */
export function decodeTime(tlv: Tlv): Date {
  const text = content(tlv).toString('latin1');
  let m: RegExpMatchArray | null;
  if (is(tlv, TagClass.universal, UniversalTag.utcTime, false)) {
    m = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/);
    if (!m) throw new DerError('bad UTCTime');
    const yy = Number(m[1]);
    return new Date(
      Date.UTC(
        yy >= 50 ? 1900 + yy : 2000 + yy,
        Number(m[2]) - 1,
        Number(m[3]),
        Number(m[4]),
        Number(m[5]),
        Number(m[6] ?? 0),
      ),
    );
  }
  if (is(tlv, TagClass.universal, UniversalTag.generalizedTime, false)) {
    m = text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/);
    if (!m) throw new DerError('bad GeneralizedTime');
    const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
    return new Date(
      Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms),
    );
  }
  throw new DerError('expected a UTCTime or GeneralizedTime');
}

/** Tag-less string value of a directory string (UTF8String, PrintableString, IA5String, ...). */
export function decodeString(tlv: Tlv): string {
  if (tlv.tagClass !== TagClass.universal || tlv.constructed) throw new DerError('expected a string');
  const bytes = content(tlv);
  switch (tlv.tagNumber) {
    case 30: // BMPString
      return Buffer.from(bytes).swap16().toString('utf16le');
    case UniversalTag.utf8String:
      return bytes.toString('utf8');
    default:
      return bytes.toString('latin1');
  }
}

// ---------------------------------------------------------------------------------------------
// X.509 helpers (no public-key parsing, so any key type works)

/** First CERTIFICATE block of a PEM text (other blocks, e.g. a key, are skipped), or DER as is. */
export function certificateDer(input: string | Buffer): Buffer {
  if (Buffer.isBuffer(input) && input[0] === 0x30) return input;
  const text = Buffer.isBuffer(input) ? input.toString('latin1') : input;
  const m = text.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/);
  if (!m) throw new Error('no CERTIFICATE in the PEM text');
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

/** The issuer and subject Names (raw TLVs) of a DER certificate, without parsing its public key. */
export function certificateNames(der: Buffer): {
  tbs: Tlv;
  serial: Tlv;
  issuer: Tlv;
  subject: Tlv;
  extensions: Tlv | undefined;
} {
  const certificate = parseSingle(der);
  const tbs = children(certificate)[0];
  if (!tbs || tbs.tagNumber !== UniversalTag.sequence) throw new DerError('not a certificate');
  const fields = children(tbs);
  let i = 0;
  if (fields[0]?.tagClass === TagClass.context && fields[0].tagNumber === 0) i = 1; // [0] version
  const serial = fields[i];
  const issuer = fields[i + 2];
  const subject = fields[i + 4];
  if (!serial || !issuer || !subject) throw new DerError('not a certificate');
  const extensions = fields.slice(i + 6).find((f) => f.tagClass === TagClass.context && f.tagNumber === 3);
  return { tbs, serial, issuer, subject, extensions };
}

/** Values of the attribute `oid` in a Name (RDNSequence). */
export function nameAttributes(name: Tlv, oid: string): string[] {
  const values: string[] = [];
  for (const rdn of children(name)) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (type && value && decodeOid(type) === oid) values.push(decodeString(value));
    }
  }
  return values;
}

/** The certificate's Subject Key Identifier extension value (hex) or null. */
export function subjectKeyIdentifier(der: Buffer): string | null {
  const { extensions } = certificateNames(der);
  if (!extensions) return null;
  const [list] = children(extensions);
  for (const ext of children(list)) {
    const parts = children(ext);
    if (decodeOid(parts[0]) !== '2.5.29.14') continue;
    const value = parts[parts.length - 1];
    const inner = parseSingle(Buffer.from(content(value)));
    return content(inner).toString('hex');
  }
  return null;
}
