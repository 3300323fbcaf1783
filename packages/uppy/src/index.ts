/**
 * @bucketseal/uppy: an Uppy uploader plugin that encrypts each file in the browser with Bucketseal
 * before it reaches S3-compatible storage: parallel multipart uploads from one shared Worker pool,
 * pause, resume and cancel from Uppy's UI, and recovery after a reload (with Golden Retriever)
 * that sends only the missing parts.
 * @packageDocumentation
 */
export { Bucketseal, Bucketseal as default, type BucketsealBody, type BucketsealOptions, type BucketsealRecipients } from './plugin.js'
