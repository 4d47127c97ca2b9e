/*
 * What a read-only key sees of personal data inside payloads: phone numbers and e-mail addresses
 * masked (4471•••••23, j•••@acme.com). Applied to JSON text, inside its string literals only.
 */

const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/g;
const EMAIL = /([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;
// A whole string that is a phone number, or a +-prefixed number inside a longer one.
const WHOLE_PHONE = /^\+?[\d ().-]{8,24}$/;
const INLINE_PHONE = /\+\d[\d ]{6,20}\d/g;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}/;

export function maskPhone(text: string): string {
  const digits = text.replace(/\D/g, '');
  if (digits.length < 8 || digits.length > 15) return text;
  return `${text.trim().startsWith('+') ? '+' : ''}${digits.slice(0, 4)}${'•'.repeat(digits.length - 6)}${digits.slice(-2)}`;
}

/** One value as text (a string's content, or an id column). */
export function maskValue(text: string): string {
  if (WHOLE_PHONE.test(text) && !DATE_LIKE.test(text)) return maskPhone(text);
  return text.replace(EMAIL, '$1•••@$2').replace(INLINE_PHONE, (phone) => maskPhone(phone));
}

/** JSON text with every string literal's phone numbers and e-mail addresses masked. */
export function maskJson(json: string): string {
  return json.replace(STRING_LITERAL, (literal) => `"${maskValue(literal.slice(1, -1))}"`);
}
