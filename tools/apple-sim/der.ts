/** The DER reader lives with the service (it verifies Mdm-Signature); the tools reuse it. */
export * from '../../api/src/apple/cms/der';
