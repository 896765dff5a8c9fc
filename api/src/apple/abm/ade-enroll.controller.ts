import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../auth/public.decorator';
import { ApiErrors } from '../../openapi/api-errors.decorator';
import { AppleError } from '../apple.error';
import { AbmService } from './abm.service';

/** Machine information is a few hundred bytes; anything far larger is not one. */
const MAX_MACHINE_INFO_BYTES = 64 * 1024;

/** The body as sent: no body parser takes application/pkcs7-signature, so the stream is read here. */
async function readBody(request: Request): Promise<Buffer> {
  if (Buffer.isBuffer(request.body)) return request.body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_MACHINE_INFO_BYTES)
      throw new AppleError('malformed-plist', 'invalid', 'The machine information is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

@ApiTags('apple')
@ApiErrors('apple')
@Controller('apple/ade')
export class AdeEnrollController {
  constructor(private readonly abm: AbmService) {}

  @Post(':code/enroll')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Automated Device Enrollment: an ABM iPhone in Setup Assistant posts its signed machine information and gets its enrollment profile',
  })
  @ApiConsumes('application/pkcs7-signature')
  @ApiBody({ schema: { type: 'string', format: 'binary', description: 'CMS SignedData of a plist (UDID, SERIAL…)' } })
  @ApiOkResponse({
    description: 'The enrollment profile (a property list)',
    content: { 'application/x-apple-aspen-config': { schema: { type: 'string' } } },
  })
  async enroll(@Param('code') code: string, @Req() request: Request, @Res() response: Response): Promise<void> {
    const profile = await this.abm.enrollmentProfile(code, await readBody(request));
    response.type('application/x-apple-aspen-config').send(profile);
  }
}
