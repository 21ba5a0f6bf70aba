/** A Secrets Manager ARN: `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 random characters>`. */
const SECRET_ARN = /^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:(.+)$/;
/** The six characters Secrets Manager appends to a secret's name in its ARN. */
const ARN_SUFFIX = /-[A-Za-z0-9]{6}$/;

/**
 * One key for a secret whether it was requested by name or by ARN: the name. A full ARN's random suffix is
 * dropped; a partial ARN (no suffix) or a name that happens to end like one may then share a key with another
 * secret, which only makes the two wait for each other — the key orders work in one process, it never decides
 * what is safe (the rotation protocol does, ADR 0007).
 */
export function secretKey(secretId: string): string {
  const arn = SECRET_ARN.exec(secretId.trim());
  if (arn === null) return secretId.trim();
  return (arn[1] ?? '').replace(ARN_SUFFIX, '');
}
