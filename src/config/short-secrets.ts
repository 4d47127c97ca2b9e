/**
 * Dotdigital documents no minimum secret length (its tutorial registers the 15-character
 * "a strong secret"), so a short secret is accepted; below this length start-up warns, because
 * an HMAC key that short is easier to guess. Admin keys are this service's own: they keep 32.
 */
export const RECOMMENDED_SECRET_LENGTH = 16;

/**
 * One warning per secret shorter than RECOMMENDED_SECRET_LENGTH, naming where it came from
 * (`WEBHOOK_SECRETS`, `WEBHOOK_SECRETS_FILE`, or a `WEBHOOK_SPACES_FILE` entry) and its position,
 * never the secret itself.
 */
export function shortSecretWarnings(source: string, secrets: readonly string[]): string[] {
  return secrets.flatMap((secret, index) =>
    secret.length < RECOMMENDED_SECRET_LENGTH
      ? [
          `${source}, secret ${index + 1}: ${secret.length} characters, shorter than the recommended ` +
            `${RECOMMENDED_SECRET_LENGTH}; accepted (Dotdigital sets no minimum), but a longer secret is harder to guess`,
        ]
      : [],
  );
}
