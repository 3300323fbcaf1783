/**
 * @bucketseal/core: the Bucketseal object format on WebCrypto. Encrypts data for one or many
 * recipients with a fresh AES-256-GCM data key per object, in authenticated chunks that can be
 * sealed in parallel and read by range. Runs in browsers, Workers and Node 20+.
 * @packageDocumentation
 */
export { encrypt, decrypt, decryptObject, type EncryptOptions } from './oneshot.js'
export {
  encryptStream,
  decryptStream,
  encryptBlob,
  DEFAULT_SLICE_SIZE,
  type DecryptStream,
  type EncryptBlobOptions,
  type StreamOptions,
} from './stream.js'
export {
  createObject,
  openObject,
  openHeader,
  DEFAULT_CHUNK_SIZE,
  type CreateObjectOptions,
  type CreatedObject,
  type OpenedObject,
} from './object.js'
export { encryptChunk, decryptChunk, chunkSealer, type ChunkSealer, type ChunkSealerOptions, type ObjectKey } from './chunk.js'
export { rewrapHeader, rewrapRecipients, withRecipients, type RewrapOptions } from './rewrap.js'
export { decryptRange } from './range.js'
export { chunkCount, ciphertextSize, plaintextSize, planRange, chunkOffset, type Layout, type RangePlan } from './size.js'
export {
  parseHeader,
  readHeaderLength,
  HEADER_PREFIX_LENGTH,
  MAX_HEADER_LENGTH,
  MIN_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  TAG_LENGTH,
  type Header,
  type Stanza,
} from './header.js'
export {
  rsaRecipient,
  rsaIdentity,
  aesKwRecipient,
  aesKwIdentity,
  passphraseRecipient,
  passphraseIdentity,
  stanzaKeyId,
  StanzaType,
  MIN_PBKDF2_ITERATIONS,
  MAX_PBKDF2_ITERATIONS,
  MAX_PASSPHRASE_TRIES,
  MAX_PASSPHRASE_WORK,
  type Recipient,
  type Identity,
  type Passphrase,
  type RecipientInput,
  type IdentityInput,
} from './recipients.js'
export {
  kmsRecipient,
  kmsIdentity,
  httpKmsClient,
  kmsKeyId,
  kmsKeyNames,
  KmsError,
  isKmsError,
  KMS_STANZA_TYPE,
  KMS_CONTEXT,
  MAX_KMS_KEY_NAME_BYTES,
  MAX_KMS_CIPHERTEXT_BYTES,
  MAX_KMS_TRIES,
  type KmsClient,
  type KmsErrorCode,
  type HttpKmsClientOptions,
} from './kms.js'
export {
  generateRsaKeyPair,
  importPublicKey,
  exportPublicKeyPem,
  rsaKeyId,
  generateAesKwKey,
  importAesKwKey,
  aesKwKeyId,
  fingerprint,
  type GenerateRsaKeyPairOptions,
  type AesKwKeyOptions,
  type PublicKeyInput,
} from './keys.js'
export { type ObjectMetadata } from './metadata.js'
export { isLoopbackHost } from './loopback.js'
export { headerToMetadata, metadataToHeader, METADATA_PREFIXES, S3_METADATA_LIMIT, CEK_ALG, type MirrorOptions, type MirroredHeader } from './mirror.js'
export {
  BucketsealError,
  InvalidArgumentError,
  DecryptionError,
  BadHeaderError,
  UnsupportedVersionError,
  WrongKeyError,
  CommitmentMismatchError,
  TamperedError,
  TruncatedError,
  isBucketsealError,
  type ErrorCode,
} from './errors.js'
