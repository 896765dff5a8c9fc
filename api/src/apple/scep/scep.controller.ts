import { Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../auth/public.decorator';
import { ApiErrors } from '../../openapi/api-errors.decorator';
import { AppleError } from '../apple.error';
import { ScepService } from './scep.service';

/** A PKCSReq is a few kilobytes (a 4096-bit key's request, encrypted and signed, stays under 16 KB). */
const MAX_MESSAGE_BYTES = 64 * 1024;

const OPERATIONS = ['GetCACaps', 'GetCACert', 'PKIOperation'];

async function readBody(request: Request): Promise<Buffer> {
  if (Buffer.isBuffer(request.body)) return request.body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_MESSAGE_BYTES)
      throw new AppleError(
        'scep-too-large',
        'too-large',
        `The PKIOperation message is larger than a SCEP request can be (${MAX_MESSAGE_BYTES / 1024} KB).`,
      );
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function unknownOperation(operation: unknown): AppleError {
  return new AppleError(
    'scep-unknown-operation',
    'invalid',
    `Unknown SCEP operation "${typeof operation === 'string' ? operation.slice(0, 40) : ''}": this server answers ${OPERATIONS.join(', ')}.`,
  );
}

/**
 * SCEP (RFC 8894) for the device identities, at the `URL` of the enrollment profile's
 * com.apple.security.scep payload (APPLE_IDENTITY_DELIVERY=scep). Public: a request is authorised by
 * the one-time challenge inside it, which only the enrollment profile carried.
 */
@ApiTags('apple')
@ApiErrors('apple')
@Controller('apple/scep')
export class ScepController {
  constructor(private readonly scep: ScepService) {}

  @Get()
  @Public()
  @ApiOperation({
    summary: 'SCEP (RFC 8894): GetCACaps, GetCACert, or PKIOperation with the base64 message in the query',
  })
  @ApiQuery({ name: 'operation', enum: OPERATIONS })
  @ApiQuery({ name: 'message', required: false, description: 'PKIOperation: the base64 DER message' })
  @ApiOkResponse({
    description: 'GetCACaps: the capabilities, a line each; GetCACert: the CA certificate; PKIOperation: a CertRep',
    content: {
      'text/plain': { schema: { type: 'string' } },
      'application/x-x509-ca-cert': { schema: { type: 'string', format: 'binary' } },
      'application/x-pki-message': { schema: { type: 'string', format: 'binary' } },
    },
  })
  async get(
    @Query('operation') operation: unknown,
    @Query('message') message: unknown,
    @Res() response: Response,
  ): Promise<void> {
    if (operation === 'GetCACaps') {
      response.type('text/plain').send(this.scep.capabilities());
      return;
    }
    if (operation === 'GetCACert') {
      response.type('application/x-x509-ca-cert').send(await this.scep.caCertificate());
      return;
    }
    if (operation !== 'PKIOperation') throw unknownOperation(operation);
    if (typeof message !== 'string' || message === '')
      throw new AppleError('scep-malformed', 'invalid', 'PKIOperation by GET needs the base64 message in `message`.');
    // A `+` of the base64 arrives as a space when the client did not percent-encode it.
    const base64 = message.replace(/ /g, '+').replace(/\s+/g, '');
    if (base64.length > (MAX_MESSAGE_BYTES * 4) / 3)
      throw new AppleError(
        'scep-too-large',
        'too-large',
        `The PKIOperation message is larger than a SCEP request can be (${MAX_MESSAGE_BYTES / 1024} KB).`,
      );
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
      throw new AppleError('scep-malformed', 'invalid', 'The PKIOperation message is not base64 of a SCEP request.');
    response.type('application/x-pki-message').send(await this.scep.pkiOperation(Buffer.from(base64, 'base64')));
  }

  @Post()
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'SCEP (RFC 8894) PKIOperation by POST: the DER message in the body, a CertRep back' })
  @ApiQuery({ name: 'operation', enum: ['PKIOperation'] })
  @ApiConsumes('application/x-pki-message')
  @ApiBody({ schema: { type: 'string', format: 'binary', description: 'DER CMS SignedData (PKCSReq)' } })
  @ApiOkResponse({
    description: 'The CertRep: SUCCESS with the certificate, or FAILURE with failInfo',
    content: { 'application/x-pki-message': { schema: { type: 'string', format: 'binary' } } },
  })
  async post(
    @Query('operation') operation: unknown,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    if (operation !== 'PKIOperation') throw unknownOperation(operation);
    response.type('application/x-pki-message').send(await this.scep.pkiOperation(await readBody(request)));
  }
}
