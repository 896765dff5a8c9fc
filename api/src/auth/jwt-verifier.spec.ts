import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { AuthError } from './auth.error';
import { JwtVerifierService } from './jwt-verifier.service';

/** A loopback provider publishing one RS256 key (discovery + JWKS), as strict as the verifier needs. */
async function provider(): Promise<{
  issuer: string;
  sign: (expiresInSeconds: number) => Promise<string>;
  server: Server;
}> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration')
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
        }),
      );
    else if (req.url === '/jwks') res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (expiresInSeconds: number) =>
    new SignJWT({ sub: 'agent-1' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience('api')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
      .sign(privateKey);
  return { issuer, sign, server };
}

describe('JwtVerifierService: verified tokens taken on trust', () => {
  afterEach(() => jest.useRealTimers());

  it('accepts a token again, and refuses it once expired beyond the same 30 s tolerance, remembered or not', async () => {
    const idp = await provider();
    try {
      const verifier = new JwtVerifierService({ issuer: idp.issuer, audience: 'api' });
      const token = await idp.sign(60);
      expect((await verifier.verify(token)).sub).toBe('agent-1');
      expect((await verifier.verify(token)).sub).toBe('agent-1');
      // 95 s later: past its expiry and the tolerance; the key set is still cached, so no network is needed.
      jest.useFakeTimers({ now: Date.now() + 95_000, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
      await expect(verifier.verify(token)).rejects.toThrow(AuthError);
      await expect(verifier.verify(token)).rejects.toThrow(/expired/);
    } finally {
      idp.server.close();
    }
  });

  it('keeps nothing of a token that failed: a forged one is refused every time', async () => {
    const idp = await provider();
    try {
      const verifier = new JwtVerifierService({ issuer: idp.issuer, audience: 'api' });
      const token = await idp.sign(600);
      const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      await expect(verifier.verify(forged)).rejects.toThrow(AuthError);
      await expect(verifier.verify(forged)).rejects.toThrow(AuthError);
      expect((await verifier.verify(token)).sub).toBe('agent-1');
    } finally {
      idp.server.close();
    }
  });
});
