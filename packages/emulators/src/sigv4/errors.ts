/**
 * A malformed or mis-scoped SigV4 signature. The codes are the ones STS and S3
 * both use (`IncompleteSignature`, `SignatureDoesNotMatch`); each server wraps
 * the error in its own error document.
 */
export class SigV4Error extends Error {
  override name = "SigV4Error";
  readonly code: "IncompleteSignature" | "SignatureDoesNotMatch";

  constructor(code: SigV4Error["code"], message: string) {
    super(message);
    this.code = code;
  }
}
