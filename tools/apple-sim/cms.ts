/** CMS signing and verification live with the service (it verifies Mdm-Signature); the tools reuse them. */
export * from '../../api/src/apple/cms/cms';
