export * from './create-signer.ts';
export * from './hmac-signer.ts';
export * from './iam-signer.ts';
export * from './key-signer.ts';
export * from './signer-config.ts';
export * from './url-cache.ts';
export * from './url-signer.ts';
export * from './v4.ts';
