import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Security headers on every response (API, admin interface, API docs). The admin interface is a
 * Vite build: its scripts, styles, fonts and icons come from this origin (icons also as data: URIs
 * in the DSFR stylesheet); React style props and the API docs' inline <style> need inline styles.
 * No script is inline, nothing may frame the pages (clickjacking), and forms may only post here.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        // No upgrade-insecure-requests: the demo runs on http://localhost; HSTS covers HTTPS deployments.
      },
    },
    frameguard: { action: 'deny' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
}
