import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContextOptions } from "node:tls";

const single = (value: unknown): string | Buffer | undefined =>
  typeof value === "string" || Buffer.isBuffer(value) ? value : undefined;

/**
 * Why `options` cannot serve TLS, or undefined when they can. OpenSSL keeps one
 * key per algorithm, so it takes an RSA key beside an EC certificate without a
 * word, and every handshake then fails; a key of the certificate's own
 * algorithm that is not its key is refused by OpenSSL ("key values mismatch").
 * Both are caught here by comparing the key with the certificate's public key.
 */
export const secureContextProblem = (options: SecureContextOptions): string | undefined => {
  try {
    createSecureContext(options);
  } catch (error) {
    return (error as Error).message;
  }
  const cert = single(options.cert);
  const key = single(options.key);
  // A chain of several keys, a PFX: OpenSSL's own checks above are what there is.
  if (cert === undefined || key === undefined) return undefined;
  let certificate: X509Certificate;
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    certificate = new X509Certificate(cert);
    privateKey = createPrivateKey(
      options.passphrase === undefined ? key : { key, passphrase: options.passphrase },
    );
  } catch (error) {
    return (error as Error).message;
  }
  if (certificate.checkPrivateKey(privateKey)) return undefined;
  const certType = certificate.publicKey.asymmetricKeyType;
  const keyType = privateKey.asymmetricKeyType;
  return certType === keyType
    ? `the private key is not the certificate's (both ${certType}, different keys)`
    : `the private key is not the certificate's (certificate: ${certType} key, private key: ${keyType})`;
};
